// FakeClock: a Clock the test moves by hand.
#pragma once

#include "core/clock.h"

namespace chat::core {

class FakeClock final : public Clock {
 public:
  std::int64_t NowMillis() const override { return now_ms; }
  std::int64_t MonotonicMillis() const override { return monotonic_ms; }
  void Advance(std::int64_t ms) {
    now_ms += ms;
    monotonic_ms += ms;
  }
  std::int64_t now_ms = 1795000000000;  // 2026-11
  std::int64_t monotonic_ms = 1000;
};

}  // namespace chat::core
