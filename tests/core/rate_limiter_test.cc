#include "core/rate_limiter.h"

#include <gtest/gtest.h>

#include "tests/core/fake_clock.h"

namespace chat::core {
namespace {

TEST(RateLimiterTest, AllowsABurstThenTheSustainedRate) {
  FakeClock clock;
  RateLimiter limiter(clock, 10, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_FALSE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("b"));
  clock.Advance(100);  // one token at 10/s
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_FALSE(limiter.TryAcquire("a"));
  clock.Advance(10000);  // refills only up to the burst
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_FALSE(limiter.TryAcquire("a"));
}

TEST(RateLimiterTest, ManyKeysAreBoundedWithoutForgettingBusyOnes) {
  FakeClock clock;
  RateLimiter limiter(clock, 1, 1, /*max_keys=*/3);
  EXPECT_TRUE(limiter.TryAcquire("busy"));
  EXPECT_FALSE(limiter.TryAcquire("busy"));
  clock.Advance(500);
  EXPECT_TRUE(limiter.TryAcquire("a"));
  EXPECT_TRUE(limiter.TryAcquire("b"));
  clock.Advance(1000);  // a and b (and busy) refilled: dropped when a fourth key comes
  EXPECT_TRUE(limiter.TryAcquire("c"));
  EXPECT_TRUE(limiter.TryAcquire("busy"));
  EXPECT_FALSE(limiter.TryAcquire("busy"));  // drained again, and remembered
  EXPECT_TRUE(limiter.TryAcquire("d"));
  EXPECT_FALSE(limiter.TryAcquire("busy"));
}

}  // namespace
}  // namespace chat::core
