#include "core/access_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

TEST(AccessPolicyTest, PresenceTopicsAreWatchedAsAllowedAndNeverPublishedByClients) {
  Identity alice{"alice"};
  std::vector<std::string> asked;
  auto may_watch = [&](std::string_view subject) {
    asked.emplace_back(subject);
    return subject == "bob";
  };
  auto check = [&](TopicAccess access, const char* topic) {
    return MayConnectionAccess(alice, false, access, topic, false, std::nullopt, may_watch);
  };
  EXPECT_TRUE(check(TopicAccess::kSubscribe, "chat/v1/presence/bob"));
  EXPECT_TRUE(check(TopicAccess::kRead, "chat/v1/presence/bob"));
  EXPECT_FALSE(check(TopicAccess::kSubscribe, "chat/v1/presence/carol"));
  EXPECT_FALSE(check(TopicAccess::kWrite, "chat/v1/presence/bob"));
  EXPECT_TRUE(check(TopicAccess::kUnsubscribe, "chat/v1/presence/carol"));
  EXPECT_FALSE(check(TopicAccess::kSubscribe, "chat/v1/presence/+"));  // no wildcard reaches anyone
  EXPECT_EQ(asked, (std::vector<std::string>{"bob", "bob", "carol"}));
  // Everything else follows IsAllowed, with the request topic parsed by the caller or here.
  EXPECT_TRUE(check(TopicAccess::kWrite, "chat/v1/req/send"));
  EXPECT_TRUE(MayConnectionAccess(alice, false, TopicAccess::kWrite, "chat/v1/req/send", false, RequestOp::kSend,
                                  may_watch));
  EXPECT_FALSE(MayConnectionAccess(alice, false, TopicAccess::kWrite, "chat/v1/req/send", false, RequestOp::kUnknown,
                                   may_watch));
  EXPECT_TRUE(check(TopicAccess::kSubscribe, "chat/v1/user/alice/#"));
}

TEST(AccessPolicyTest, TheSessionReapersConnectionMayDoNothing) {
  auto never = [](std::string_view) { return true; };
  Identity reaper{"alice", true, true};
  for (TopicAccess access : {TopicAccess::kRead, TopicAccess::kWrite, TopicAccess::kSubscribe}) {
    EXPECT_FALSE(MayConnectionAccess(reaper, true, access, "chat/v1/user/alice/msg", false, std::nullopt, never));
    EXPECT_FALSE(MayConnectionAccess(reaper, true, access, "chat/v1/presence/bob", false, std::nullopt, never));
  }
  EXPECT_FALSE(MayConnectionAccess(reaper, true, TopicAccess::kWrite, "chat/v1/req/send", false, std::nullopt, never));
}

}  // namespace
}  // namespace chat::core
