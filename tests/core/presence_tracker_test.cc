#include "core/presence_tracker.h"

#include <gtest/gtest.h>

#include <string>

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
  for (int beat = 0; beat < 6; ++beat) {  // a minute of heartbeats every 10 s
    clock_.Advance(10000);
    EXPECT_FALSE(tracker_.Heartbeat("alice"));
    EXPECT_TRUE(tracker_.Expire().empty());
  }
  EXPECT_TRUE(tracker_.IsOnline("alice"));
}

TEST_F(PresenceTrackerTest, AConnectedDeviceThatStopsHeartbeatingIsOfflineAfterTheTimeoutAndBackOnItsNextSign) {
  tracker_.Connected("alice");
  clock_.Advance(20000);
  EXPECT_FALSE(tracker_.Heartbeat("alice"));
  clock_.Advance(29999);  // the connection stays open, nothing else comes
  EXPECT_TRUE(tracker_.Expire().empty());
  EXPECT_TRUE(tracker_.IsOnline("alice"));
  clock_.Advance(1);
  auto changes = tracker_.Expire();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].online);
  EXPECT_EQ(changes[0].last_active_ms, clock_.now_ms - 30000);  // last heard from
  EXPECT_FALSE(tracker_.IsOnline("alice"));
  EXPECT_TRUE(tracker_.HasConnectedDevice("alice")) << "still connected: events reach it live";
  clock_.Advance(60000);
  EXPECT_TRUE(tracker_.Expire().empty()) << "offline once";
  auto back = tracker_.Heartbeat("alice");
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->online);
  EXPECT_EQ(back->last_active_ms, clock_.now_ms);
  EXPECT_TRUE(tracker_.IsOnline("alice"));
  // Silent again, then the connection goes: nothing more to say, and nothing is left behind.
  clock_.Advance(30000);
  ASSERT_EQ(tracker_.Expire().size(), 1u);
  EXPECT_FALSE(tracker_.Disconnected("alice", /*clean=*/false));
  EXPECT_FALSE(tracker_.HasConnectedDevice("alice"));
  EXPECT_TRUE(tracker_.Connected("alice")) << "a later connect is a change again";
}

TEST_F(PresenceTrackerTest, OneHeartbeatingDeviceKeepsTheUserOnlineBesideASilentOne) {
  tracker_.Connected("alice");  // a silent tablet
  tracker_.Connected("alice");  // a phone that heartbeats
  for (int beat = 0; beat < 12; ++beat) {
    clock_.Advance(5000);
    tracker_.Heartbeat("alice");
    EXPECT_TRUE(tracker_.Expire().empty());
  }
  EXPECT_TRUE(tracker_.IsOnline("alice"));
}

TEST_F(PresenceTrackerTest, TimeoutsComeInDeadlineOrderWhateverTheOrderTheUsersCameIn) {
  for (int i = 0; i < 100; ++i) {
    tracker_.Connected("u" + std::to_string(i));
    clock_.Advance(100);
  }
  // Every other user heartbeats once more, late; the others time out in the order they connected.
  for (int i = 0; i < 100; i += 2) tracker_.Heartbeat("u" + std::to_string(i));
  clock_.Advance(29950);  // past every odd user's deadline (at most 39,900), before the even ones' (40,000)
  auto changes = tracker_.Expire();
  ASSERT_EQ(changes.size(), 50u);
  for (std::size_t n = 0; n < changes.size(); ++n) EXPECT_EQ(changes[n].user_id, "u" + std::to_string(2 * n + 1));
  clock_.Advance(30000);
  EXPECT_EQ(tracker_.Expire().size(), 50u);
}

TEST_F(PresenceTrackerTest, DisconnectsOfUnknownUsersAreIgnored) {
  EXPECT_FALSE(tracker_.Disconnected("ghost", true));
  EXPECT_FALSE(tracker_.Heartbeat("ghost"));
  EXPECT_FALSE(tracker_.IsOnline("ghost"));
}

TEST_F(PresenceTrackerTest, AForgottenUserLeavesNoTimeoutBehind) {
  tracker_.Connected("alice");
  tracker_.Forget("alice");
  EXPECT_TRUE(tracker_.Connected("alice")) << "a re-created account starts afresh";
  clock_.Advance(30000);
  auto changes = tracker_.Expire();
  ASSERT_EQ(changes.size(), 1u) << "one timeout, not one per entry";
}

}  // namespace
}  // namespace chat::core
