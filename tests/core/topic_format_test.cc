// The request list: every op has one name, names parse back to their op, nothing else parses.
#include "core/topic_format.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace chat::core {
namespace {

TEST(TopicFormatTest, EveryRequestOpHasItsOwnNameThatParsesBack) {
  std::set<std::string> names;
  for (std::size_t i = 1; i <= kRequestOpCount; ++i) {
    auto op = static_cast<RequestOp>(i);
    std::string name = RequestOpName(op);
    EXPECT_NE(name, "unknown");
    EXPECT_TRUE(names.insert(name).second) << name << " twice";
    EXPECT_EQ(RequestTopic(op), "chat/v1/req/" + name);
    EXPECT_EQ(ParseRequestTopic(RequestTopic(op)), op) << name;
  }
  EXPECT_EQ(names.size(), 31u);
  EXPECT_STREQ(RequestOpName(RequestOp::kSend), "send");
  EXPECT_STREQ(RequestOpName(RequestOp::kPushResult), "push_result");
  EXPECT_STREQ(RequestOpName(RequestOp::kResumeToken), "resume_token");
  EXPECT_STREQ(RequestOpName(RequestOp::kUnknown), "unknown");
}

TEST(TopicFormatTest, OnlyExactRequestTopicsParse) {
  EXPECT_EQ(ParseRequestTopic("chat/v1/req/send"), RequestOp::kSend);
  EXPECT_EQ(ParseRequestTopic("chat/v1/req/unknown"), RequestOp::kUnknown);
  EXPECT_EQ(ParseRequestTopic("chat/v1/req/"), RequestOp::kUnknown);
  EXPECT_EQ(ParseRequestTopic("chat/v1/req/send/"), RequestOp::kUnknown);
  EXPECT_EQ(ParseRequestTopic("chat/v1/req/Send"), RequestOp::kUnknown);
  EXPECT_EQ(ParseRequestTopic("chat/v1/req/+"), RequestOp::kUnknown);
  EXPECT_EQ(ParseRequestTopic("chat/v1/user/alice/send"), RequestOp::kUnknown);
  EXPECT_EQ(ParseRequestTopic("send"), RequestOp::kUnknown);
  EXPECT_EQ(ParseRequestTopic(""), RequestOp::kUnknown);
}

TEST(TopicFormatTest, UserAndPresenceTopics) {
  EXPECT_EQ(UserTopic("alice", kMessageKind), "chat/v1/user/alice/msg");
  EXPECT_EQ(UserTopic("alice", kReplyKind), "chat/v1/user/alice/reply");
  EXPECT_EQ(PresenceTopic("bob"), "chat/v1/presence/bob");
}

}  // namespace
}  // namespace chat::core
