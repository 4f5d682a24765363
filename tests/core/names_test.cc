#include "core/names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chat::core {
namespace {

TEST(NamesTest, UserIdsAcceptTheSafeAlphabet) {
  EXPECT_TRUE(ValidateUserId("alice").ok());
  EXPECT_TRUE(ValidateUserId("Bob_2.x-y").ok());
  EXPECT_TRUE(ValidateUserId(std::string(64, 'a')).ok());
}

TEST(NamesTest, UserIdsRejectTopicSyntaxAndControlCharacters) {
  for (const std::string& bad : std::vector<std::string>{"", "a/b", "a+b", "a#", "#", "+", "$SYS", "a:b", "a b", "a\tb", "\xC3\xA9",
                          std::string("a\0b", 3), std::string(65, 'a')}) {
    EXPECT_FALSE(ValidateUserId(bad).ok()) << bad;
  }
}

TEST(NamesTest, ClientIdMustBelongToTheUser) {
  auto device = DeviceIdForClient("alice", "alice:phone");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(*device, "phone");
  EXPECT_FALSE(DeviceIdForClient("alice", "bob:phone").ok());
  EXPECT_FALSE(DeviceIdForClient("alice", "alice").ok());
  EXPECT_FALSE(DeviceIdForClient("alice", "alice:").ok());
  EXPECT_FALSE(DeviceIdForClient("alice", "alicex:phone").ok());
  EXPECT_FALSE(DeviceIdForClient("alice", "alice:ph/one").ok());
  EXPECT_FALSE(DeviceIdForClient("alice", "").ok());
  EXPECT_FALSE(DeviceIdForClient("al", "alice:phone").ok());
}

TEST(NamesTest, BrokerAssignedClientIdsAreAccepted) {
  auto device = DeviceIdForClient("alice", "auto-1B6C2A8E-63B8-4D4D-9E51-06E7B8D7C0A1");
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(*device, "auto-1B6C2A8E-63B8-4D4D-9E51-06E7B8D7C0A1");
  EXPECT_FALSE(DeviceIdForClient("alice", "auto-1").ok());  // guessable: anyone could take it over
  EXPECT_FALSE(DeviceIdForClient("alice", "auto-1b6c2a8e-63b8-4d4d-9e51-06e7b8d7c0a1").ok());
  EXPECT_FALSE(DeviceIdForClient("alice", "auto-1B6C2A8E-63B8-4D4D-9E51-06E7B8D7C0A1x").ok());
}

TEST(NamesTest, ClientMessageIds) {
  EXPECT_TRUE(ValidateClientMessageId("c-1/2:3").ok());
  EXPECT_FALSE(ValidateClientMessageId("").ok());
  EXPECT_FALSE(ValidateClientMessageId("a b").ok());
  EXPECT_FALSE(ValidateClientMessageId(std::string(65, 'x')).ok());
}

}  // namespace
}  // namespace chat::core

namespace chat::core {
namespace {

TEST(NamesTest, BrokerStyleClientIdsKeepNoSession) {
  const char* id = "auto-0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9";
  EXPECT_TRUE(CheckSessionClientId(id, /*clean_start=*/true).ok());
  EXPECT_EQ(CheckSessionClientId(id, /*clean_start=*/false).code(), ErrorCode::kNotAllowed);
  EXPECT_TRUE(CheckSessionClientId("alice:phone", /*clean_start=*/false).ok());
}

}  // namespace
}  // namespace chat::core
