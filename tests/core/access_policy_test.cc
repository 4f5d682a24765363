#include "core/access_policy.h"

#include <gtest/gtest.h>

namespace chat::core {
namespace {

const Identity kAlice{"alice", false};
const Identity kAdmin{"root1", true};

TEST(AccessPolicyTest, UsersSubscribeOnlyUnderTheirOwnPrefix) {
  EXPECT_TRUE(IsAllowed(kAlice, TopicAccess::kSubscribe, "chat/v1/user/alice/#"));
  EXPECT_TRUE(IsAllowed(kAlice, TopicAccess::kSubscribe, "chat/v1/user/alice/+"));
  EXPECT_TRUE(IsAllowed(kAlice, TopicAccess::kSubscribe, "chat/v1/user/alice/msg"));
  EXPECT_TRUE(IsAllowed(kAlice, TopicAccess::kSubscribe, "chat/v1/user/alice/reply"));
  for (const char* filter : {"#", "+/#", "chat/#", "chat/v1/user/#", "chat/v1/user/+/msg", "chat/v1/user/bob/#",
                             "chat/v1/user/alicex/#", "chat/v1/user/alice", "chat/v1/req/send", "$SYS/#",
                             "$CONTROL/#", "$CONTROL/chat-accounts/v1/response", "$share/g/#",
                             "$share/g/chat/v1/user/bob/#", "$share/chat/v1/user/alice/#",
                             "$share/g/chat/v1/user/alice/msg", "chat/v1/user/alice/x/y/z",
                             "chat/v1/user/alice/other", "chat/v1/user/alice/+/+"}) {
    EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kSubscribe, filter)) << filter;
  }
}

TEST(AccessPolicyTest, UsersReceiveOnlyTheirOwnTopics) {
  EXPECT_TRUE(IsAllowed(kAlice, TopicAccess::kRead, "chat/v1/user/alice/msg"));
  EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kRead, "chat/v1/user/bob/msg"));
  EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kRead, "chat/v1/req/send"));
  EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kRead, "$SYS/broker/uptime"));
}

TEST(AccessPolicyTest, UsersPublishOnlyKnownRequests) {
  EXPECT_TRUE(IsAllowed(kAlice, TopicAccess::kWrite, "chat/v1/req/send"));
  EXPECT_TRUE(IsAllowed(kAlice, TopicAccess::kWrite, "chat/v1/req/history"));
  EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kWrite, "chat/v1/req/send", /*retain=*/true));
  for (const char* topic : {"chat/v1/req/other", "chat/v1/req/send/x", "chat/v1/user/bob/msg",
                            "chat/v1/user/alice/msg", "$CONTROL/chat-accounts/v1", "$SYS/x", "anything"}) {
    EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kWrite, topic)) << topic;
  }
}

TEST(AccessPolicyTest, AdminsAlsoUseTheAccountsControlTopics) {
  EXPECT_TRUE(IsAllowed(kAdmin, TopicAccess::kWrite, "$CONTROL/chat-accounts/v1"));
  EXPECT_TRUE(IsAllowed(kAdmin, TopicAccess::kSubscribe, "$CONTROL/chat-accounts/v1/response"));
  EXPECT_TRUE(IsAllowed(kAdmin, TopicAccess::kRead, "$CONTROL/chat-accounts/v1/response"));
  EXPECT_TRUE(IsAllowed(kAdmin, TopicAccess::kSubscribe, "$SYS/#"));
  EXPECT_FALSE(IsAllowed(kAdmin, TopicAccess::kSubscribe, "#"));
  EXPECT_FALSE(IsAllowed(kAdmin, TopicAccess::kRead, "chat/v1/user/alice/msg"));
  EXPECT_FALSE(IsAllowed(kAdmin, TopicAccess::kWrite, "$CONTROL/dynamic-security/v1"));
}

TEST(AccessPolicyTest, OnlyServiceAccountsTakePushJobs) {
  const Identity bridge{"push-bridge", false, true};
  EXPECT_TRUE(IsAllowed(bridge, TopicAccess::kSubscribe, "chat/v1/service/push/jobs"));
  EXPECT_TRUE(IsAllowed(bridge, TopicAccess::kSubscribe, "$share/bridges/chat/v1/service/push/jobs"));
  EXPECT_TRUE(IsAllowed(bridge, TopicAccess::kRead, "chat/v1/service/push/jobs"));
  EXPECT_FALSE(IsAllowed(bridge, TopicAccess::kSubscribe, "$share//chat/v1/service/push/jobs"));
  EXPECT_FALSE(IsAllowed(bridge, TopicAccess::kSubscribe, "chat/v1/service/#"));
  EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kSubscribe, "chat/v1/service/push/jobs"));
  EXPECT_FALSE(IsAllowed(kAlice, TopicAccess::kRead, "chat/v1/service/push/jobs"));
  EXPECT_FALSE(IsAllowed(kAdmin, TopicAccess::kRead, "chat/v1/service/push/jobs"));
}

TEST(AccessPolicyTest, NoIdentityNoAccess) {
  EXPECT_FALSE(IsAllowed(Identity{}, TopicAccess::kSubscribe, "chat/v1/user//#"));
  EXPECT_FALSE(IsAllowed(Identity{}, TopicAccess::kWrite, "chat/v1/req/send"));
}

}  // namespace
}  // namespace chat::core

namespace chat::core {
namespace {

TEST(AccessPolicyTest, OfflineSessionsReceiveOnlyTheirOwnTopics) {
  EXPECT_TRUE(MayQueueForOfflineSession("alice", TopicAccess::kRead, "chat/v1/user/alice/msg"));
  EXPECT_FALSE(MayQueueForOfflineSession("alice", TopicAccess::kRead, "chat/v1/user/bob/msg"));
  EXPECT_FALSE(MayQueueForOfflineSession("alice", TopicAccess::kRead, "chat/v1/presence/bob"));
  EXPECT_FALSE(MayQueueForOfflineSession("alice", TopicAccess::kWrite, "chat/v1/user/alice/msg"));
  EXPECT_FALSE(MayQueueForOfflineSession("alice", TopicAccess::kSubscribe, "chat/v1/user/alice/#"));
  EXPECT_FALSE(MayQueueForOfflineSession("", TopicAccess::kRead, "chat/v1/user//msg"));
}

}  // namespace
}  // namespace chat::core
