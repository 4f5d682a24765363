// Push notifications end to end: the real broker with the chat plugin, the real push-bridge process and
// the fake HTTPS provider (docs/PROTOCOL.md, "Push notifications"). Short collapse window and the
// shortest lease the bridge accepts (5 s), so the lease/restart path fits in seconds. Every wait is bounded.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/bridge/bridge_process.h"
#include "tests/bridge/fake_provider.h"
#include "harness/broker_process.h"
#include "tests/harness/test_client.h"

namespace chat::harness {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kPushYaml[] = "push:\n  collapse_seconds: 1\n  lease_seconds: 5\n  service_accounts: [pushsvc]\n";
constexpr int kLeaseSeconds = 5;
constexpr char kToken[] = "tok-bob";

std::string Password(const std::string& user) { return "pw-" + user; }

BrokerOptions PushBroker() {
  BrokerOptions options;
  options.extra_yaml = kPushYaml;
  return options;
}

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(broker_.AddUserOffline("alice", Password("alice")), "");
    ASSERT_EQ(broker_.AddUserOffline("bob", Password("bob")), "");
    ASSERT_EQ(broker_.AddUserOffline("pushsvc", Password("pushsvc")), "");
    ASSERT_EQ(broker_.Start(), "");
    ASSERT_EQ(provider_.Start(), "");

    char pattern[] = "/tmp/push_test_journal.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    journal_dir_ = pattern;

    PushBridgeOptions options;
    options.mqtt_port = broker_.mqtt_port();
    options.username = "pushsvc";
    options.password = Password("pushsvc");  // written to the bridge's password_file
    options.device = "bridge-1";
    options.provider_url = provider_.url("");
    options.ca_file = provider_.ca_file();
    // Worst case 3 x 700 ms + backoffs fits in the 5 s lease less the bridge's 2 s margin.
    options.timeout_ms = 700;
    options.max_attempts = 3;
    options.initial_backoff_ms = 50;
    options.max_backoff_ms = 100;
    options.lease_seconds = kLeaseSeconds;  // equals the server's push.lease_seconds
    options.journal_file = journal_dir_ + "/journal";
    bridge_ = std::make_unique<PushBridgeProcess>(options);
    ASSERT_EQ(bridge_->Start(), "");

    RegisterBob();
    if (HasFatalFailure()) return;

    alice_ = std::make_unique<ChatTestClient>(broker_.mqtt_uri(), "alice", "laptop");
    ASSERT_EQ(alice_->Connect(Password("alice")), "");
    ASSERT_TRUE(alice_->SubscribeOwn());
  }

  void TearDown() override {
    if (alice_) alice_->Disconnect();
    if (bob_) bob_->Disconnect();
    bridge_.reset();  // kills a running bridge before the broker goes
    if (!journal_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(journal_dir_, ignored);
    }
  }

  // Publishes chat/v1/req/<op> with a fresh rid and waits for the reply carrying it.
  std::optional<json> Request(ChatTestClient& client, const std::string& op, json body) {
    std::string rid = op + "-" + std::to_string(++rid_counter_);
    body["rid"] = rid;
    int code = client.Publish("chat/v1/req/" + op, body.dump());
    EXPECT_TRUE(code >= 0 && code < 0x80) << op << " publish: " << code;
    std::string reply_topic = "chat/v1/user/" + client.user() + "/reply";
    auto got = client.WaitFor(
        [&](const Received& r) {
          return r.topic == reply_topic && r.json.is_object() && r.json.value("rid", "") == rid;
        },
        10s);
    if (!got) return std::nullopt;
    return got->json;
  }

  // Bob's phone registers its token, then logs out cleanly (bye + DISCONNECT): offline at once.
  void RegisterBob() {
    auto phone = std::make_unique<ChatTestClient>(broker_.mqtt_uri(), "bob", "phone");
    ASSERT_EQ(phone->Connect(Password("bob")), "");
    ASSERT_TRUE(phone->SubscribeOwn());
    auto reply = Request(*phone, "push_register", {{"provider", "fcm"}, {"token", kToken}, {"platform", "android"}});
    ASSERT_TRUE(reply.has_value()) << "no reply to push_register";
    ASSERT_EQ(reply->value("type", ""), "ok") << reply->dump();
    ASSERT_EQ(reply->value("op", ""), "push_register") << reply->dump();
    EXPECT_LT(phone->Publish("chat/v1/req/bye", "{}"), 0x80);
    phone->Disconnect();
  }

  // Alice sends `text` to bob and waits for the ack (the message is stored, the job recorded with it).
  void AliceSends(const std::string& text) {
    int code = alice_->Send("bob", text, "c-" + std::to_string(++cmid_counter_));
    ASSERT_TRUE(code >= 0 && code < 0x80) << "send: " << code;
    auto ack = alice_->WaitForType("ack");
    ASSERT_TRUE(ack.has_value()) << "no ack for " << text;
  }

  std::string Diagnostics() {
    std::string out = "\n--- provider requests:\n";
    for (const RecordedRequest& r : provider_.requests()) {
      out += "  " + std::to_string(r.status) + " " + r.path + " " + r.body + "\n";
    }
    out += "--- bridge log:\n" + (bridge_ ? bridge_->log() : std::string());
    return out;
  }

  BrokerProcess broker_{PushBroker()};
  FakeProvider provider_;
  std::unique_ptr<PushBridgeProcess> bridge_;
  std::unique_ptr<ChatTestClient> alice_;
  std::unique_ptr<ChatTestClient> bob_;
  std::string journal_dir_;
  int rid_counter_ = 0;
  int cmid_counter_ = 0;
};

// (1) One message to offline bob: exactly one provider request, with his token and the text.
TEST_F(PushTest, OfflineRecipientGetsExactlyOnePush) {
  AliceSends("hello bob, are you there?");
  ASSERT_TRUE(provider_.WaitForRequests(1, 8s)) << Diagnostics();
  std::this_thread::sleep_for(3s);  // nothing more: the result completed the job

  auto requests = provider_.requests();
  ASSERT_EQ(requests.size(), 1u) << Diagnostics();
  const RecordedRequest& r = requests[0];
  EXPECT_EQ(r.path, "/fcm");
  EXPECT_EQ(r.token(), kToken);
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.json.is_object()) << r.body;
  EXPECT_EQ(r.json.value("body", ""), "hello bob, are you there?") << r.body;
  EXPECT_EQ(r.json.value("title", ""), "alice") << r.body;
  EXPECT_EQ(r.json.value("count", 0), 1) << r.body;
  EXPECT_EQ(r.json.value("badge", -1), 1) << r.body;  // bob's unread total: this one message
  EXPECT_FALSE(r.json.contains("badge_capped")) << r.body;
  EXPECT_EQ(r.json.value("platform", ""), "android") << r.body;
  std::string job = r.json.value("job", "");
  EXPECT_FALSE(job.empty()) << r.body;
  EXPECT_EQ(r.header("idempotency-key"), job + "-phone");
  EXPECT_EQ(r.json["data"], json::parse(R"({"user":"bob","from":"alice","peer":"alice"})")) << r.body;
  EXPECT_EQ(bridge_->LogCount("job=" + job + " result outcome=sent"), 1) << Diagnostics();
}

// (2) Bob has a device connected: no push at all.
TEST_F(PushTest, OnlineRecipientGetsNoPush) {
  bob_ = std::make_unique<ChatTestClient>(broker_.mqtt_uri(), "bob", "phone");
  ASSERT_EQ(bob_->Connect(Password("bob")), "");
  ASSERT_TRUE(bob_->SubscribeOwn());
  AliceSends("you are online");
  auto delivered = bob_->WaitForType("message", 5s);
  EXPECT_TRUE(delivered.has_value()) << "bob's connected phone did not get the message";
  EXPECT_FALSE(provider_.WaitForRequests(1, 3s)) << Diagnostics();
}

// (3) Three quick messages collapse into one notification with count 3 and the newest text.
TEST_F(PushTest, QuickMessagesCollapseIntoOnePush) {
  AliceSends("one");
  AliceSends("two");
  AliceSends("three");
  ASSERT_TRUE(provider_.WaitForRequests(1, 8s)) << Diagnostics();
  std::this_thread::sleep_for(3s);
  auto requests = provider_.requests();
  ASSERT_EQ(requests.size(), 1u) << Diagnostics();
  EXPECT_EQ(requests[0].token(), kToken);
  EXPECT_EQ(requests[0].json.value("count", 0), 3) << requests[0].body;
  EXPECT_EQ(requests[0].json.value("badge", -1), 3) << requests[0].body;
  EXPECT_EQ(requests[0].json.value("body", ""), "three") << requests[0].body;
}

// (4) The provider fails twice with 500: the bridge retries and the third attempt is the only accepted one.
TEST_F(PushTest, ProviderErrorsAreRetriedAndAcceptedOnce) {
  provider_.Script({{500}, {500}, {200}});
  AliceSends("retry me");
  ASSERT_TRUE(provider_.WaitForRequests(3, 10s)) << Diagnostics();
  std::this_thread::sleep_for(3s);
  auto requests = provider_.requests();
  ASSERT_EQ(requests.size(), 3u) << Diagnostics();
  EXPECT_EQ(requests[0].status, 500);
  EXPECT_EQ(requests[1].status, 500);
  EXPECT_EQ(requests[2].status, 200);
  EXPECT_EQ(provider_.accepted(), 1u) << Diagnostics();
  std::string job = requests[0].json.value("job", "");
  for (const RecordedRequest& r : requests) {
    EXPECT_EQ(r.token(), kToken);
    EXPECT_EQ(r.header("idempotency-key"), job + "-phone");
  }
  EXPECT_EQ(bridge_->LogCount("job=" + job + " result outcome=sent"), 1) << Diagnostics();
}

// (5) The bridge is killed while the provider is still answering (slowly, with an error) its first
// attempt; restarted with the same journal, it gets the job again after the server's lease and delivers
// it: exactly one accepted request, and nothing more afterwards.
TEST_F(PushTest, BridgeKilledMidJobDeliversAfterRestartOnce) {
  provider_.Script({{503, 1500}});  // the first attempt hangs, then fails
  AliceSends("survive a crash");
  ASSERT_TRUE(provider_.WaitForRequests(1, 8s)) << Diagnostics();
  auto first_seen = std::chrono::steady_clock::now();
  bridge_->Kill();
  std::string killed_log = bridge_->log();
  ASSERT_EQ(bridge_->Start(), "") << killed_log;

  // The job comes back through the lease (5 s after the offer) and is accepted once.
  ASSERT_TRUE(provider_.WaitUntil(
      [](const std::vector<RecordedRequest>& rs) {
        for (const RecordedRequest& r : rs) {
          if (r.status >= 200 && r.status < 300) return true;
        }
        return false;
      },
      std::chrono::seconds(kLeaseSeconds + 5)))
      << "killed bridge's log:\n" << killed_log << Diagnostics();
  double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - first_seen).count();
  std::printf("[ info ] redelivered %.2f s after the first attempt\n", after);

  // Within one more lease nothing is sent again: the result completed the job.
  std::this_thread::sleep_for(std::chrono::seconds(kLeaseSeconds) + 500ms);
  EXPECT_EQ(provider_.AcceptedForToken(kToken), 1u) << Diagnostics();
  EXPECT_EQ(provider_.accepted(), 1u) << Diagnostics();
  auto requests = provider_.requests();
  ASSERT_GE(requests.size(), 2u);
  std::string job = requests[0].json.value("job", "");
  for (const RecordedRequest& r : requests) EXPECT_EQ(r.json.value("job", ""), job) << Diagnostics();
  EXPECT_EQ(bridge_->LogCount("job=" + job + " result outcome=sent"), 1) << Diagnostics();
}

// (6) The provider says bob's token is dead (410): the server removes it, so the next message makes no push.
TEST_F(PushTest, InvalidTokenIsRemoved) {
  provider_.SetInvalidToken(kToken);
  AliceSends("to a dead token");
  ASSERT_TRUE(provider_.WaitForRequests(1, 8s)) << Diagnostics();
  ASSERT_TRUE(bridge_->WaitForLog(" result outcome=", 1, 5s)) << Diagnostics();
  std::this_thread::sleep_for(500ms);  // the result reaches the server
  auto first = provider_.requests();
  ASSERT_EQ(first.size(), 1u) << Diagnostics();
  EXPECT_EQ(first[0].status, 410);

  AliceSends("after the token went");
  EXPECT_FALSE(provider_.WaitForRequests(2, 3s)) << Diagnostics();
  EXPECT_EQ(provider_.requests().size(), 1u) << Diagnostics();
}

}  // namespace
}  // namespace chat::harness
