#include "core/session_registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chat::core {
namespace {

int handles[10];

TEST(SessionRegistryTest, AdmitsFindsAndForgets) {
  SessionRegistry registry(5, 20);
  ASSERT_TRUE(registry.Admit(&handles[0], {"alice", "alice:phone", false}).status.ok());
  ASSERT_TRUE(registry.Admit(&handles[1], {"root1", "root1:x", true}).status.ok());
  ASSERT_NE(registry.Find(&handles[0]), nullptr);
  EXPECT_EQ(registry.Find(&handles[0])->user_id, "alice");
  EXPECT_TRUE(registry.Find(&handles[1])->is_admin);
  EXPECT_EQ(registry.Find(&handles[2]), nullptr);
  registry.Remove(&handles[0]);
  registry.Remove(&handles[0]);
  EXPECT_EQ(registry.Find(&handles[0]), nullptr);
  EXPECT_EQ(registry.DeviceCount("alice"), 0u);
}

TEST(SessionRegistryTest, CapsDistinctDevicesPerUserButAllowsTakeoverOfOwnClientId) {
  SessionRegistry registry(2, 20);
  ASSERT_TRUE(registry.Admit(&handles[0], {"alice", "alice:a", false}).status.ok());
  ASSERT_TRUE(registry.Admit(&handles[1], {"alice", "alice:b", false}).status.ok());
  EXPECT_EQ(registry.Admit(&handles[2], {"alice", "alice:c", false}).status.code(), ErrorCode::kNotAllowed);
  EXPECT_TRUE(registry.Admit(&handles[3], {"bob", "bob:c", false}).status.ok());
  // A reconnect of alice:a arrives before the old connection's disconnect: still two devices.
  ASSERT_TRUE(registry.Admit(&handles[4], {"alice", "alice:a", false}).status.ok());
  EXPECT_EQ(registry.DeviceCount("alice"), 2u);
  registry.Remove(&handles[0]);
  EXPECT_EQ(registry.DeviceCount("alice"), 2u);  // handles[4] still holds alice:a
  registry.Remove(&handles[1]);
  EXPECT_TRUE(registry.Admit(&handles[2], {"alice", "alice:c", false}).status.ok());
}

TEST(SessionRegistryTest, RemoveUserDropsEveryConnectionOfThatUser) {
  SessionRegistry registry(5, 20);
  ASSERT_TRUE(registry.Admit(&handles[0], {"alice", "alice:a", false}).status.ok());
  ASSERT_TRUE(registry.Admit(&handles[1], {"alice", "alice:b", false}).status.ok());
  ASSERT_TRUE(registry.Admit(&handles[2], {"bob", "bob:a", false}).status.ok());
  EXPECT_EQ(registry.RemoveUser("alice"), 2u);
  EXPECT_EQ(registry.Find(&handles[0]), nullptr);
  EXPECT_NE(registry.Find(&handles[2]), nullptr);
}

Session Persistent(const char* user, const char* client_id) {
  Session session{user, client_id};
  session.may_persist = true;
  return session;
}

TEST(SessionRegistryTest, SessionsThatMayPersistAreRememberedOfflineUntilResumed) {
  SessionRegistry registry(5, 20);
  ASSERT_TRUE(registry.Admit(&handles[0], Persistent("alice", "alice:tablet")).status.ok());
  ASSERT_TRUE(registry.Admit(&handles[1], {"alice", "alice:web"}).status.ok());  // clean start, 3.1.1
  registry.Remove(&handles[0]);
  registry.Remove(&handles[1]);
  ASSERT_NE(registry.FindOffline(&handles[0]), nullptr);
  EXPECT_EQ(*registry.FindOffline(&handles[0]), "alice");
  EXPECT_EQ(registry.FindOffline(&handles[1]), nullptr);  // its session ended with the connection
  EXPECT_EQ(registry.SessionCount("alice"), 1u);
  ASSERT_TRUE(registry.Admit(&handles[2], Persistent("alice", "alice:tablet")).status.ok());  // back
  EXPECT_EQ(registry.FindOffline(&handles[0]), nullptr);
  EXPECT_EQ(registry.SessionCount("alice"), 1u);
  // A takeover leaves no offline session behind: the client id is still connected.
  ASSERT_TRUE(registry.Admit(&handles[3], Persistent("alice", "alice:tablet")).status.ok());
  registry.Remove(&handles[2]);
  EXPECT_EQ(registry.FindOffline(&handles[2]), nullptr);
  EXPECT_EQ(registry.SessionCount("alice"), 1u);
}

TEST(SessionRegistryTest, ANewDevicePastTheSessionCapEndsTheOldestOfflineSession) {
  SessionRegistry registry(2, 3);
  for (int i = 0; i < 3; ++i) {
    std::string id = "alice:d" + std::to_string(i);
    ASSERT_TRUE(registry.Admit(&handles[i], Persistent("alice", id.c_str())).status.ok());
    registry.Remove(&handles[i]);
  }
  EXPECT_EQ(registry.SessionCount("alice"), 3u);
  auto admission = registry.Admit(&handles[3], Persistent("alice", "alice:new"));
  ASSERT_TRUE(admission.status.ok());
  EXPECT_EQ(admission.to_end, std::vector<std::string>{"alice:d0"});
  EXPECT_EQ(registry.FindOffline(&handles[0]), nullptr);
  EXPECT_EQ(registry.SessionCount("alice"), 3u);
  // Resuming a kept session ends nothing.
  EXPECT_TRUE(registry.Admit(&handles[4], Persistent("alice", "alice:d1")).status.ok());
  EXPECT_TRUE(registry.Admit(&handles[5], Persistent("alice", "alice:d1")).to_end.empty());
  // Without a way to end sessions, a new device past the cap is refused.
  SessionRegistry strict(2, 1);
  ASSERT_TRUE(strict.Admit(&handles[6], Persistent("bob", "bob:a")).status.ok());
  strict.Remove(&handles[6]);
  EXPECT_EQ(strict.Admit(&handles[7], Persistent("bob", "bob:b"), /*can_end_sessions=*/false).status.code(),
            ErrorCode::kNotAllowed);
  EXPECT_TRUE(strict.Admit(&handles[7], Persistent("bob", "bob:a"), /*can_end_sessions=*/false).status.ok());
}

TEST(SessionRegistryTest, AClientIdBelongsToOneUserLiveOrOffline) {
  SessionRegistry registry(5, 20);
  const char* id = "auto-0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9";
  ASSERT_TRUE(registry.Admit(&handles[0], Persistent("alice", id)).status.ok());
  EXPECT_EQ(registry.Admit(&handles[1], {"bob", id}).status.code(), ErrorCode::kNotAllowed);
  registry.Remove(&handles[0]);
  EXPECT_EQ(registry.Admit(&handles[1], {"bob", id}).status.code(), ErrorCode::kNotAllowed);  // offline: still alice's
  EXPECT_EQ(registry.TakeOfflineSessions("alice"), std::vector<std::string>{id});
  EXPECT_TRUE(registry.Admit(&handles[1], {"bob", id}).status.ok());
}

TEST(SessionRegistryTest, TheReaperCountsForNothingAndNeverTakesAConnectedId) {
  SessionRegistry registry(1, 1);
  ASSERT_TRUE(registry.Admit(&handles[0], Persistent("alice", "alice:a")).status.ok());
  Session reaper{"alice", "alice:a"};
  reaper.is_reaper = true;
  EXPECT_EQ(registry.Admit(&handles[1], reaper).status.code(), ErrorCode::kNotAllowed);
  registry.Remove(&handles[0]);
  reaper.client_id = "alice:a";
  EXPECT_TRUE(registry.Admit(&handles[1], reaper).status.ok());
  EXPECT_EQ(registry.DeviceCount("alice"), 0u);
  registry.Remove(&handles[1]);
  EXPECT_EQ(registry.SessionCount("alice"), 1u);  // the offline session stays counted until ended
}

}  // namespace
}  // namespace chat::core
