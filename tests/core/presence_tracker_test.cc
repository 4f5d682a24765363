#include "core/presence_tracker.h"

#include <gtest/gtest.h>

#include "tests/core/fake_clock.h"

namespace chat::core {
namespace {

class PresenceTrackerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  PresenceTracker tracker_{clock_, 30000};
};

TEST_F(PresenceTrackerTest, FirstDeviceBringsTheUserOnlineOthersChangeNothing) {
  auto change = tracker_.Connected("alice");
  ASSERT_TRUE(change);
  EXPECT_TRUE(change->online);
  EXPECT_EQ(change->last_active_ms, clock_.now_ms);
  EXPECT_FALSE(tracker_.Connected("alice"));
  EXPECT_FALSE(tracker_.Disconnected("alice", /*clean=*/true));  // one device remains
  EXPECT_TRUE(tracker_.IsOnline("alice"));
}

TEST_F(PresenceTrackerTest, CleanLogoutOfTheLastDeviceIsOfflineAtOnce) {
  tracker_.Connected("alice");
  clock_.Advance(5000);
  auto change = tracker_.Disconnected("alice", /*clean=*/true);
  ASSERT_TRUE(change);
  EXPECT_FALSE(change->online);
  EXPECT_EQ(change->last_active_ms, clock_.now_ms);
  EXPECT_FALSE(tracker_.IsOnline("alice"));
}

TEST_F(PresenceTrackerTest, LostConnectionGoesOfflineOnlyAfterTheTimeout) {
  tracker_.Connected("alice");
  EXPECT_FALSE(tracker_.Disconnected("alice", /*clean=*/false));
  clock_.Advance(29999);
  EXPECT_TRUE(tracker_.Expire().empty());
  EXPECT_TRUE(tracker_.IsOnline("alice"));
  clock_.Advance(1);
  auto changes = tracker_.Expire();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].online);
  EXPECT_EQ(changes[0].last_active_ms, clock_.now_ms - 30000);  // last seen when the connection went
  EXPECT_TRUE(tracker_.Expire().empty());
}

TEST_F(PresenceTrackerTest, ReconnectWithinTheGracePeriodShowsNoChange) {
  tracker_.Connected("alice");
  tracker_.Disconnected("alice", false);
  clock_.Advance(10000);
  EXPECT_FALSE(tracker_.Connected("alice"));
  clock_.Advance(60000);
  EXPECT_TRUE(tracker_.Expire().empty());
  EXPECT_TRUE(tracker_.IsOnline("alice"));
}

TEST_F(PresenceTrackerTest, DisconnectsOfUnknownUsersAreIgnored) {
  EXPECT_FALSE(tracker_.Disconnected("ghost", true));
  tracker_.Heartbeat("ghost");
  EXPECT_FALSE(tracker_.IsOnline("ghost"));
}

}  // namespace
}  // namespace chat::core
