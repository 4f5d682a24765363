// PushService through ChatService's requests and ticks, on the fake clock: who gets a job, the collapse
// window, muting, the lease, and the bridge's report. The real bridge is tested in tests/bridge.
#include "core/push_service.h"

#include <gtest/gtest.h>

#include "tests/core/service_fixture.h"

namespace chat::core {
namespace {

using nlohmann::json;

class PushServiceTest : public ServiceFixture {
 protected:
  void SetUp() override {
    push_.collapse_seconds = 5;
    push_.lease_seconds = 60;
    push_.service_accounts = {"push-bridge"};
    CreateUsers({"alice", "bob", "carol", "push-bridge"});
    ASSERT_TRUE(Request("bob", RequestOp::kPushRegister, json{{"provider", "fcm"}, {"token", "tok-b"}}).ok());
  }
  // The push jobs offered on the next tick after `ms` more milliseconds.
  std::vector<json> JobsAfter(std::int64_t ms) {
    clock_.Advance(ms);
    outbox_.published.clear();
    service_->OnTick(outbox_);
    std::vector<json> jobs;
    for (const Published& p : outbox_.published) {
      if (p.topic == kPushJobsTopic) jobs.push_back(p.payload);
    }
    return jobs;
  }
  Status Report(const std::string& job, const char* outcome) {
    outbox_.published.clear();
    Caller bridge{"push-bridge", "push-bridge:1", false, 0, /*is_service=*/true};
    return service_->Handle(bridge, RequestOp::kPushResult, json{{"job", job}, {"outcome", outcome}}.dump(), outbox_);
  }
};

TEST_F(PushServiceTest, AnOfflineRecipientWithATokenGetsOneJobAfterTheCollapseWindow) {
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "one"}}).ok());
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "two"}}).ok());
  EXPECT_TRUE(JobsAfter(1000).empty());  // still collapsing
  std::vector<json> jobs = JobsAfter(5000);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["user"], "bob");
  EXPECT_EQ(jobs[0]["from"], "alice");
  EXPECT_EQ(jobs[0]["count"], 2);
  EXPECT_EQ(jobs[0]["body"], "two");
  ASSERT_EQ(jobs[0]["targets"].size(), 1u);
  EXPECT_EQ(jobs[0]["targets"][0]["token"], "tok-b");
  EXPECT_EQ(jobs[0]["targets"][0]["device"], "phone");
  // Unanswered, it is offered again once the lease runs out, and not before.
  EXPECT_TRUE(JobsAfter(30000).empty());
  EXPECT_EQ(JobsAfter(31000).size(), 1u);
}

TEST_F(PushServiceTest, NoJobForTheSenderAnOnlineRecipientOrSomeoneWithoutAToken) {
  ASSERT_TRUE(Request("bob", RequestOp::kSend, json{{"to", "carol"}, {"text", "carol has no token"}}).ok());
  ASSERT_TRUE(Request("bob", RequestOp::kSend, json{{"to", "bob"}, {"text", "note to self"}}).ok());
  service_->presence().OnConnected("bob", outbox_);
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "bob is online"}}).ok());
  EXPECT_TRUE(JobsAfter(10000).empty());
}

TEST_F(PushServiceTest, AMutedConversationGetsNoJob) {
  ASSERT_TRUE(Request("bob", RequestOp::kMute, json{{"peer", "alice"}, {"muted", true}}).ok());
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "muted"}}).ok());
  EXPECT_TRUE(JobsAfter(10000).empty());
  ASSERT_TRUE(Request("bob", RequestOp::kMute, json{{"peer", "alice"}, {"muted", false}}).ok());
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "unmuted"}}).ok());
  EXPECT_EQ(JobsAfter(10000).size(), 1u);
}

TEST_F(PushServiceTest, AMentionIsNotifiedEvenInAMutedGroup) {
  ASSERT_TRUE(Request("alice", RequestOp::kGroupCreate, json{{"name", "g"}, {"members", {"bob", "carol"}}}, true).ok());
  std::string group = outbox_.published.back().payload["group"];
  ASSERT_TRUE(Request("bob", RequestOp::kMute, json{{"group", group}, {"muted", true}}).ok());
  ASSERT_TRUE(Request("carol", RequestOp::kSend, json{{"group", group}, {"text", "no name here"}}).ok());
  EXPECT_TRUE(JobsAfter(10000).empty());
  ASSERT_TRUE(Request("carol", RequestOp::kSend, json{{"group", group}, {"text", "@bob look"}}).ok());
  std::vector<json> jobs = JobsAfter(10000);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["user"], "bob");
  EXPECT_EQ(jobs[0]["body"], "@bob look");
}

TEST_F(PushServiceTest, AReportedJobIsNeverOfferedAgainAndOnlyTheBridgeMayReport) {
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "hi"}}).ok());
  std::vector<json> jobs = JobsAfter(6000);
  ASSERT_EQ(jobs.size(), 1u);
  std::string job = jobs[0]["job"];
  EXPECT_EQ(Request("alice", RequestOp::kPushResult, json{{"job", job}, {"outcome", "sent"}}).code(),
            ErrorCode::kNotAllowed);
  ASSERT_TRUE(Report(job, "sent").ok());
  EXPECT_EQ(outbox_.published.back().payload["type"], "ok");
  EXPECT_TRUE(JobsAfter(120000).empty());
  // A later message starts a new job.
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "again"}}).ok());
  jobs = JobsAfter(6000);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_NE(jobs[0]["job"], job);
  EXPECT_EQ(jobs[0]["count"], 1);
}

// The badge: everything bob has not read, over his 1:1s and groups, as his conversation list counts it.
TEST_F(PushServiceTest, AJobCarriesTheRecipientsUnreadTotalAsTheConversationListCountsIt) {
  ASSERT_TRUE(Request("alice", RequestOp::kGroupCreate, json{{"name", "g"}, {"members", {"bob", "carol"}}}, true).ok());
  std::string group = outbox_.published.back().payload["group"];
  auto send = [&](const char* from, json to, const char* text) {
    to["text"] = text;
    EXPECT_TRUE(Request(from, RequestOp::kSend, to).ok());
    return outbox_.published.empty() ? std::string() : outbox_.published[0].payload.value("id", std::string());
  };
  send("alice", {{"to", "bob"}}, "a1");
  std::string alice_last = send("alice", {{"to", "bob"}}, "a2");
  send("carol", {{"to", "bob"}}, "c1");
  send("carol", {{"group", group}}, "g1");
  send("bob", {{"group", group}}, "bob's own: never unread for him");
  send("carol", {{"group", group}}, "g2");
  std::vector<json> jobs = JobsAfter(6000);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["count"], 5);
  EXPECT_EQ(jobs[0]["unread"], 5);
  EXPECT_FALSE(jobs[0].contains("unread_capped"));

  // A read mark takes its conversation's messages out of the total; the list agrees.
  ASSERT_TRUE(Report(jobs[0]["job"], "sent").ok());
  ASSERT_TRUE(Request("bob", RequestOp::kRead, json{{"peer", "alice"}, {"up_to", alice_last}}).ok());
  send("alice", {{"to", "bob"}}, "a3");
  jobs = JobsAfter(6000);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["unread"], 4);  // a3, c1, g1, g2
  ASSERT_TRUE(Request("bob", RequestOp::kConversations, json::object()).ok());
  int listed = 0;
  for (const json& conversation : outbox_.published.back().payload["conversations"]) listed += conversation["unread"].get<int>();
  EXPECT_EQ(listed, 4);
}

// A message changed before its notification went out: the push shows it as it is now, and a deleted
// text is gone from the pending job and the store.
TEST_F(PushServiceTest, AnEditOrADeletionBeforeTheOfferChangesThePendingJob) {
  auto send = [&](const char* text) {
    EXPECT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", text}}).ok());
    return outbox_.published[0].payload["id"].get<std::string>();
  };
  std::string typo = send("see you tomorow");
  ASSERT_TRUE(Request("alice", RequestOp::kEdit, json{{"peer", "bob"}, {"id", typo}, {"text", "see you tomorrow"}}).ok());
  std::vector<json> jobs = JobsAfter(6000);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["body"], "see you tomorrow");
  ASSERT_TRUE(Report(jobs[0]["job"], "sent").ok());

  // The only message of a job deleted: no notification, and nothing of it left to offer after a restart.
  std::string secret = send("the secret word is swordfish");
  ASSERT_TRUE(Request("alice", RequestOp::kDelete, json{{"peer", "bob"}, {"id", secret}}).ok());
  Restart();
  ASSERT_TRUE(service_->Start().ok());
  EXPECT_TRUE(JobsAfter(6000).empty());

  // The newest of two deleted: the job counts the other one, without the deleted text.
  send("first");
  std::string second = send("second, regretted");
  ASSERT_TRUE(Request("alice", RequestOp::kDelete, json{{"peer", "bob"}, {"id", second}}).ok());
  jobs = JobsAfter(6000);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["count"], 1);
  EXPECT_EQ(jobs[0]["body"], "");
}

TEST_F(PushServiceTest, JobsSurviveARestartAndAreOfferedAgain) {
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "kept"}}).ok());
  Restart();
  ASSERT_TRUE(service_->Start().ok());
  std::vector<json> jobs = JobsAfter(1);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["body"], "kept");
}

TEST_F(PushServiceTest, ARejectedSendLeavesNoJobBehind) {
  EXPECT_FALSE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", ""}}).ok());
  EXPECT_TRUE(JobsAfter(10000).empty());
  Restart();
  ASSERT_TRUE(service_->Start().ok());
  EXPECT_TRUE(JobsAfter(1).empty());
}

}  // namespace
}  // namespace chat::core
