// The push job wire format: what the server builds is what the bridge reads, and the result the bridge
// builds is what the server reads.
#include "core/push_job_format.h"

#include <gtest/gtest.h>

namespace chat::core {
namespace {

PushJob DirectJob() {
  PushJob job;
  job.job_id = 384;
  job.user_id = "bob";
  job.from = "alice";
  job.conversation = Conversation::Direct("bob", "alice");
  job.count = 3;
  job.preview = "hi";
  return job;
}

TEST(PushJobFormatTest, BuildsTheJobAsDocumented) {
  std::vector<PushToken> tokens = {{"phone", "fcm", "tok", "android"}};
  EXPECT_EQ(PushJobJson(DirectJob(), "alice", tokens, std::nullopt),
            R"({"body":"hi","count":3,"from":"alice","job":"384","peer":"alice",)"
            R"("targets":[{"device":"phone","platform":"android","provider":"fcm","token":"tok"}],)"
            R"("title":"alice","user":"bob"})");
  PushJob group = DirectJob();
  group.conversation = Conversation::Group("77");
  EXPECT_EQ(PushJobJson(group, "alice @ team", {}, UnreadCount{12, false, 0}),
            R"({"body":"hi","count":3,"from":"alice","group":"77","job":"384","targets":[],)"
            R"("title":"alice @ team","unread":12,"unread_capped":true,"user":"bob"})");
}

TEST(PushJobFormatTest, ReadsWhatItBuilds) {
  std::vector<PushToken> tokens = {{"phone", "fcm", "tok", "android"}, {"tablet", "apns", "t2", ""}};
  PushJobOffer offer;
  ASSERT_TRUE(ParsePushJob(PushJobJson(DirectJob(), "alice", tokens, std::nullopt), &offer).ok());
  std::vector<std::string> read = {offer.id, offer.user, offer.from, offer.peer, offer.group, offer.title, offer.body};
  EXPECT_EQ(read, std::vector<std::string>({"384", "bob", "alice", "alice", "", "alice", "hi"}));
  ASSERT_EQ(offer.targets.size(), 2u);
  EXPECT_EQ(offer.targets[1].provider, "apns");
  EXPECT_EQ(PushJobJson(offer), PushJobJson(DirectJob(), "alice", tokens, std::nullopt));
  EXPECT_FALSE(offer.unread.has_value());
  ASSERT_TRUE(ParsePushJob(PushJobJson(DirectJob(), "alice", tokens, UnreadCount{7, true, 0}), &offer).ok());
  EXPECT_EQ(offer.unread, 7);
  EXPECT_FALSE(offer.unread_capped);
}

TEST(PushJobFormatTest, RefusesABadUnreadTotal) {
  PushJobOffer offer;
  EXPECT_FALSE(ParsePushJob(R"({"job":"1","targets":[],"unread":-1})", &offer).ok());
  EXPECT_FALSE(ParsePushJob(R"({"job":"1","targets":[],"unread":"3"})", &offer).ok());
  EXPECT_FALSE(ParsePushJob(R"({"job":"1","targets":[],"unread":1,"unread_capped":1})", &offer).ok());
  EXPECT_TRUE(ParsePushJob(R"({"job":"1","targets":[],"unread":0})", &offer).ok());
}

TEST(PushJobFormatTest, ResultRoundTrip) {
  std::string payload = PushResultJson("384", PushJobResult{true, {"tablet"}});
  EXPECT_EQ(payload, R"({"invalid_devices":["tablet"],"job":"384","outcome":"sent"})");
  RequestFields request;
  ASSERT_TRUE(request.Parse(payload, RequestBoundsFor(false, Limits{})).ok());
  MessageId job_id = 0;
  PushJobResult result;
  ASSERT_TRUE(ParsePushResult(request, &job_id, &result).ok());
  EXPECT_EQ(job_id, 384u);
  EXPECT_TRUE(result.sent);
  EXPECT_EQ(result.invalid_devices, std::vector<std::string>{"tablet"});
}

TEST(PushJobFormatTest, ResultErrorsNameTheField) {
  auto error = [](const std::string& payload) {
    RequestFields request;
    EXPECT_TRUE(request.Parse(payload, RequestBoundsFor(false, Limits{})).ok());
    MessageId job_id = 0;
    PushJobResult result;
    return ParsePushResult(request, &job_id, &result).message();
  };
  EXPECT_EQ(error(R"({"outcome":"sent"})"), "job is required");
  EXPECT_EQ(error(R"({"job":"1","outcome":"maybe"})"), "outcome must be sent or failed");
  EXPECT_EQ(error(R"({"job":"1"})"), "outcome is required");
  EXPECT_EQ(error(R"({"job":"1","outcome":"failed","invalid_devices":"x"})"),
            "invalid_devices must be an array of strings");
}

}  // namespace
}  // namespace chat::core
