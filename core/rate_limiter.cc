#include "core/rate_limiter.h"

#include <algorithm>

namespace chat::core {

RateLimiter::RateLimiter(const Clock& clock, double rate_per_second, double burst, std::size_t max_keys)
    : clock_(clock), rate_per_ms_(rate_per_second / 1000.0), burst_(burst), max_keys_(max_keys) {}

bool RateLimiter::TryAcquire(const std::string& key, double amount) {
  std::int64_t now = clock_.MonotonicMillis();
  if (buckets_.size() >= max_keys_ && !buckets_.count(key)) {
    std::erase_if(buckets_, [&](const auto& entry) {
      return entry.second.tokens + static_cast<double>(now - entry.second.updated_ms) * rate_per_ms_ >= burst_;
    });
    if (buckets_.size() >= max_keys_) buckets_.clear();  // all busy: forgetting only lets some through early
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    bucket.tokens = std::min(burst_, bucket.tokens + static_cast<double>(now - bucket.updated_ms) * rate_per_ms_);
    bucket.updated_ms = now;
  }
  if (bucket.tokens < amount) return false;
  bucket.tokens -= amount;
  return true;
}

}  // namespace chat::core
