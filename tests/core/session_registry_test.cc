#include "core/session_registry.h"

#include <gtest/gtest.h>

namespace chat::core {
namespace {

int handles[10];

TEST(SessionRegistryTest, AdmitsFindsAndForgets) {
  SessionRegistry registry(5);
  ASSERT_TRUE(registry.Admit(&handles[0], {"alice", "alice:phone", false}).ok());
  ASSERT_TRUE(registry.Admit(&handles[1], {"root1", "root1:x", true}).ok());
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
  SessionRegistry registry(2);
  ASSERT_TRUE(registry.Admit(&handles[0], {"alice", "alice:a", false}).ok());
  ASSERT_TRUE(registry.Admit(&handles[1], {"alice", "alice:b", false}).ok());
  EXPECT_EQ(registry.Admit(&handles[2], {"alice", "alice:c", false}).code(), ErrorCode::kNotAllowed);
  EXPECT_TRUE(registry.Admit(&handles[3], {"bob", "bob:c", false}).ok());
  // A reconnect of alice:a arrives before the old connection's disconnect: still two devices.
  ASSERT_TRUE(registry.Admit(&handles[4], {"alice", "alice:a", false}).ok());
  EXPECT_EQ(registry.DeviceCount("alice"), 2u);
  registry.Remove(&handles[0]);
  EXPECT_EQ(registry.DeviceCount("alice"), 2u);  // handles[4] still holds alice:a
  registry.Remove(&handles[1]);
  EXPECT_TRUE(registry.Admit(&handles[2], {"alice", "alice:c", false}).ok());
}

TEST(SessionRegistryTest, RemoveUserDropsEveryConnectionOfThatUser) {
  SessionRegistry registry(5);
  ASSERT_TRUE(registry.Admit(&handles[0], {"alice", "alice:a", false}).ok());
  ASSERT_TRUE(registry.Admit(&handles[1], {"alice", "alice:b", false}).ok());
  ASSERT_TRUE(registry.Admit(&handles[2], {"bob", "bob:a", false}).ok());
  EXPECT_EQ(registry.RemoveUser("alice"), 2u);
  EXPECT_EQ(registry.Find(&handles[0]), nullptr);
  EXPECT_NE(registry.Find(&handles[2]), nullptr);
}

}  // namespace
}  // namespace chat::core
