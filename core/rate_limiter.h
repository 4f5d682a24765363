// Per-key token buckets: how fast one user may send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/clock.h"

namespace chat::core {

// Each key may take `burst` tokens at once and regains `rate_per_second`. Keys are many and chosen by
// clients (users, source addresses), so the table is bounded: past `max_keys`, buckets that have refilled
// (and so hold nothing worth remembering) are dropped. Not thread-safe; borrows `clock`.
class RateLimiter {
 public:
  RateLimiter(const Clock& clock, double rate_per_second, double burst, std::size_t max_keys = 100000);

  // Takes `amount` tokens for `key`; false (and nothing taken) when the bucket holds fewer.
  bool TryAcquire(const std::string& key, double amount = 1.0);
  // New limits (a reloaded config); buckets keep what they hold, up to the new burst.
  void SetRate(double rate_per_second, double burst) {
    rate_per_ms_ = rate_per_second / 1000.0;
    burst_ = burst;
  }

 private:
  struct Bucket {
    double tokens;
    std::int64_t updated_ms;
  };
  const Clock& clock_;
  double rate_per_ms_;
  double burst_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace chat::core
