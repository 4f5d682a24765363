// Clock: the source of wall and monotonic time, injected so tests control time.
#pragma once

#include <cstdint>

namespace chat::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (wall clock; may step backwards).
  virtual std::int64_t NowMillis() const = 0;
  // Monotonic milliseconds from an arbitrary origin; never decreases.
  virtual std::int64_t MonotonicMillis() const = 0;
};

// The real clocks (CLOCK_REALTIME / CLOCK_MONOTONIC). Thread-safe.
class SystemClock final : public Clock {
 public:
  std::int64_t NowMillis() const override;
  std::int64_t MonotonicMillis() const override;
};

}  // namespace chat::core
