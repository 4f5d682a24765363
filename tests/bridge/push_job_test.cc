// Tests of the bridge's payloads (job parsing, provider body, result), of the backoff delays and of the
// metrics text.
#include "bridge/push_job.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bridge/metrics.h"
#include "bridge/push_bridge.h"

namespace chat::bridge {
namespace {

using nlohmann::json;

// The job exactly as docs/PROTOCOL.md shows it.
constexpr const char* kProtocolJob = R"({"job": "384", "user": "bob", "from": "alice", "peer": "alice", "count": 3,
 "unread": 5, "title": "alice", "body": "the newest message's text, cut to push.preview_chars",
 "targets": [{"device": "phone", "provider": "fcm", "token": "tok", "platform": "android"}]})";

TEST(PushJobTest, ParsesTheProtocolExample) {
  PushJob job;
  ASSERT_TRUE(ParsePushJob(kProtocolJob, &job).ok());
  EXPECT_EQ(job.id, "384");
  EXPECT_EQ(job.user, "bob");
  EXPECT_EQ(job.from, "alice");
  EXPECT_EQ(job.peer, "alice");
  EXPECT_EQ(job.group, "");
  EXPECT_EQ(job.count, 3);
  EXPECT_EQ(job.title, "alice");
  EXPECT_EQ(job.body, "the newest message's text, cut to push.preview_chars");
  ASSERT_EQ(job.targets.size(), 1u);
  EXPECT_EQ(job.targets[0].device, "phone");
  EXPECT_EQ(job.targets[0].provider, "fcm");
  EXPECT_EQ(job.targets[0].token, "tok");
  EXPECT_EQ(job.targets[0].platform, "android");
}

TEST(PushJobTest, ToleratesExtraFieldsAndDropsRepeatedDevices) {
  PushJob job;
  ASSERT_TRUE(ParsePushJob(R"({"job":"9","group":"77","new_field":[1],"targets":[
      {"device":"a","provider":"apns","token":"t1"},
      {"device":"a","provider":"fcm","token":"t2"},
      {"device":"b","provider":"webhook","token":"t3","platform":"web","extra":true}]})",
                          &job)
                  .ok());
  EXPECT_EQ(job.group, "77");
  EXPECT_EQ(job.count, 1);
  ASSERT_EQ(job.targets.size(), 2u);
  EXPECT_EQ(job.targets[0].token, "t1");
  EXPECT_EQ(job.targets[1].device, "b");
}

TEST(PushJobTest, MalformedJobsKeepTheirIdWhenTheyHaveOne) {
  PushJob job;
  EXPECT_EQ(ParsePushJob("not json", &job).message(), "not a JSON object");
  EXPECT_EQ(job.id, "");
  EXPECT_EQ(ParsePushJob(R"({"targets":[]})", &job).message(), "no job id");
  EXPECT_EQ(ParsePushJob(R"({"job":7,"targets":[]})", &job).message(), "no job id");
  EXPECT_EQ(ParsePushJob(R"({"job":"5"})", &job).message(), "targets: missing or not an array");
  EXPECT_EQ(job.id, "5");
  EXPECT_EQ(ParsePushJob(R"({"job":"5","targets":[{"device":"a","provider":"fcm"}]})", &job).message(),
            "targets: device a has no token");
  EXPECT_EQ(ParsePushJob(R"({"job":"5","count":-1,"targets":[]})", &job).message(),
            "count: not a non-negative integer");
  EXPECT_EQ(ParsePushJob(R"({"job":"5","title":3,"targets":[]})", &job).message(), "title: not a string");
  EXPECT_EQ(job.id, "5");
}

TEST(PushJobTest, ProviderBodyCarriesEverythingTheAppNeeds) {
  PushJob job;
  ASSERT_TRUE(ParsePushJob(kProtocolJob, &job).ok());
  json body = json::parse(ProviderBody(job, job.targets[0]));
  EXPECT_EQ(body, json::parse(R"({"token":"tok","platform":"android","title":"alice",
      "body":"the newest message's text, cut to push.preview_chars","count":3,"job":"384","badge":5,
      "data":{"user":"bob","from":"alice","peer":"alice"}})"));
  EXPECT_EQ(IdempotencyKey("384", "phone"), "384-phone");
}

TEST(PushJobTest, ResultPayload) {
  EXPECT_EQ(ResultPayload("384", JobResult{true, {"tablet"}}),
            R"({"invalid_devices":["tablet"],"job":"384","outcome":"sent"})");
  EXPECT_EQ(ResultPayload("385", JobResult{}), R"({"invalid_devices":[],"job":"385","outcome":"failed"})");
}

// Found by tests/fuzz (provider_response): a "type" that is not a string threw out of the Paho callback.
TEST(PushJobTest, ErrorRepliesAreRecognisedWhateverTheirShape) {
  EXPECT_TRUE(IsErrorReply(R"({"type":"error","op":"push_result","code":"bad_request"})"));
  EXPECT_FALSE(IsErrorReply(R"({"type":"ok","op":"push_result"})"));
  EXPECT_FALSE(IsErrorReply(R"({"type":99})"));
  EXPECT_FALSE(IsErrorReply(R"({"type":["error"]})"));
  EXPECT_FALSE(IsErrorReply(R"(["type","error"])"));
  EXPECT_FALSE(IsErrorReply("not json"));
}

TEST(BackoffTest, GrowsExponentiallyWithJitterUpToTheCap) {
  RetryPolicy policy{.max_attempts = 10, .initial_backoff_ms = 100, .max_backoff_ms = 1000};
  EXPECT_EQ(BackoffDelay(policy, 1, 0.0).count(), 50);
  EXPECT_EQ(BackoffDelay(policy, 1, 0.999999).count(), 99);
  EXPECT_EQ(BackoffDelay(policy, 2, 0.0).count(), 100);
  EXPECT_EQ(BackoffDelay(policy, 3, 0.5).count(), 300);
  EXPECT_EQ(BackoffDelay(policy, 5, 0.0).count(), 500);    // 1600 capped at 1000
  EXPECT_EQ(BackoffDelay(policy, 60, 1.0).count(), 1000);  // no overflow far out
}

TEST(MetricsTest, PrometheusText) {
  Counters counters;
  counters.sent = 3;
  counters.retried = 2;
  std::string text = FormatMetrics(counters);
  EXPECT_NE(text.find("# TYPE push_bridge_sent_total counter\npush_bridge_sent_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("push_bridge_retried_total 2\n"), std::string::npos);
  EXPECT_NE(text.find("push_bridge_failed_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("push_bridge_dropped_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE push_bridge_connected gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace chat::bridge
