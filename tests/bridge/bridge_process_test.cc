// The push-bridge process against the fake HTTPS provider, over bare Mosquitto (no chat plugin): the test
// plays the server, publishing jobs exactly as docs/PROTOCOL.md shows and reading the bridge's results.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "tests/bridge/bridge_process.h"
#include "tests/bridge/fake_provider.h"
#include "harness/broker_process.h"
#include "tests/harness/test_client.h"

namespace chat::harness {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kJobsTopic = "chat/v1/service/push/jobs";
constexpr const char* kResultTopic = "chat/v1/req/push_result";

json Target(const std::string& device, const std::string& provider, const std::string& token,
            const std::string& platform = "android") {
  return {{"device", device}, {"provider", provider}, {"token", token}, {"platform", platform}};
}

// A job as the server sends it (docs/PROTOCOL.md, "The push bridge's side").
json Job(const std::string& id, json targets) {
  return {{"job", id},  {"user", "bob"},    {"from", "alice"},     {"peer", "alice"},
          {"count", 3}, {"title", "alice"}, {"body", "hello bob"}, {"targets", std::move(targets)}};
}

BrokerOptions BareMosquitto() {
  BrokerOptions options;
  options.with_plugin = false;  // anonymous access, no ACL: the test plays the chat server itself
  return options;
}

class BridgeProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(broker_.Start(), "");
    ASSERT_EQ(provider_.Start(), "");
    ConnectServer();
  }

  // The test's stand-in for the chat server: publishes jobs, reads results.
  void ConnectServer() {
    server_ = std::make_unique<ChatTestClient>(broker_.mqtt_uri(), "server", "jobs");
    ASSERT_EQ(server_->Connect(""), "");
    ASSERT_TRUE(server_->Subscribe(kResultTopic));
  }

  PushBridgeOptions Options() {
    PushBridgeOptions options;
    options.mqtt_port = broker_.mqtt_port();
    options.provider_url = provider_.url("");
    options.ca_file = provider_.ca_file();
    return options;
  }

  void Offer(const std::string& payload) {
    int code = server_->Publish(kJobsTopic, payload);
    ASSERT_TRUE(code >= 0 && code < 0x80) << code;
  }
  void Offer(const json& job) { Offer(job.dump()); }

  std::optional<json> WaitResult(const std::string& job_id, std::chrono::milliseconds timeout = 15s) {
    auto found = server_->WaitFor(
        [&](const Received& r) {
          return r.topic == kResultTopic && r.json.is_object() && r.json.value("job", "") == job_id;
        },
        timeout);
    if (!found) return std::nullopt;
    return found->json;
  }

  // Results that arrive within `window`.
  std::vector<json> ResultsWithin(std::chrono::milliseconds window) {
    std::vector<json> out;
    for (const Received& r : server_->Collect(window)) {
      if (r.topic == kResultTopic) out.push_back(r.json);
    }
    return out;
  }

  BrokerProcess broker_{BareMosquitto()};
  FakeProvider provider_;
  std::unique_ptr<ChatTestClient> server_;
};

TEST_F(BridgeProcessTest, DeliversAJobOnceAndReportsSent) {
  PushBridgeProcess bridge(Options());
  ASSERT_EQ(bridge.Start(), "");
  Offer(Job("1001", json::array({Target("phone", "fcm", "tok-phone")})));

  auto result = WaitResult("1001");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ(*result, json::parse(R"({"job":"1001","outcome":"sent","invalid_devices":[]})"));
  EXPECT_TRUE(ResultsWithin(300ms).empty());

  auto requests = provider_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& request = requests[0];
  EXPECT_EQ(request.path, "/fcm");
  EXPECT_EQ(request.header("idempotency-key"), "1001-phone");
  EXPECT_EQ(request.header("authorization"), "Bearer test-credential");
  EXPECT_EQ(request.header("content-type"), "application/json");
  EXPECT_EQ(request.json, json::parse(R"({"token":"tok-phone","platform":"android","title":"alice",
      "body":"hello bob","count":3,"job":"1001","data":{"user":"bob","from":"alice","peer":"alice"}})"));

  auto metrics = bridge.Metrics();
  EXPECT_EQ(metrics["push_bridge_sent_total"], 1);
  EXPECT_EQ(metrics["push_bridge_retried_total"], 0);
  EXPECT_EQ(metrics["push_bridge_failed_total"], 0);
  EXPECT_EQ(metrics["push_bridge_dropped_total"], 0);
  EXPECT_EQ(metrics["push_bridge_jobs_completed_total"], 1);
  EXPECT_EQ(metrics["push_bridge_connected"], 1);
  EXPECT_EQ(bridge.LogCount("job=1001 device=phone provider=fcm attempt=1/3 http=200"), 1) << bridge.log();
  EXPECT_EQ(bridge.LogCount("job=1001 result outcome=sent"), 1);
  // Tokens are credentials of a kind: they stay out of the log.
  EXPECT_EQ(bridge.LogCount("tok-phone"), 0);
}

TEST_F(BridgeProcessTest, GroupJobsAndEveryProviderPath) {
  PushBridgeProcess bridge(Options());
  ASSERT_EQ(bridge.Start(), "");
  json job = Job("1002", json::array({Target("phone", "fcm", "t1"), Target("ipad", "apns", "t2", "ios"),
                                      Target("web", "webhook", "t3", "web")}));
  job.erase("peer");
  job["group"] = "555";
  Offer(job);
  auto result = WaitResult("1002");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ((*result)["outcome"], "sent");
  std::set<std::string> paths;
  for (const RecordedRequest& r : provider_.requests()) {
    paths.insert(r.path);
    EXPECT_EQ(r.json["data"], json::parse(R"({"user":"bob","from":"alice","group":"555"})"));
  }
  EXPECT_EQ(paths, (std::set<std::string>{"/fcm", "/apns", "/webhook"}));
}

TEST_F(BridgeProcessTest, RetriesServerErrorsThenSendsOnce) {
  PushBridgeOptions options = Options();
  options.max_attempts = 5;
  PushBridgeProcess bridge(options);
  ASSERT_EQ(bridge.Start(), "");
  provider_.Script({{500}, {500}, {200}});
  Offer(Job("2001", json::array({Target("phone", "fcm", "tok-phone")})));

  auto result = WaitResult("2001");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ((*result)["outcome"], "sent");
  EXPECT_TRUE(ResultsWithin(300ms).empty());
  auto requests = provider_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(provider_.accepted(), 1u);
  for (const RecordedRequest& r : requests) EXPECT_EQ(r.header("idempotency-key"), "2001-phone");
  EXPECT_EQ(bridge.Metric("push_bridge_retried_total"), 2);
  EXPECT_EQ(bridge.Metric("push_bridge_sent_total"), 1);
  EXPECT_EQ(bridge.LogCount("job=2001 device=phone provider=fcm attempt=1/5 http=500"), 1) << bridge.log();
  EXPECT_EQ(bridge.LogCount("outcome=retry in"), 2);
}

TEST_F(BridgeProcessTest, TimeoutsAreRetried) {
  PushBridgeOptions options = Options();
  options.timeout_ms = 300;
  PushBridgeProcess bridge(options);
  ASSERT_EQ(bridge.Start(), "");
  provider_.Script({{504, 1500}});
  Offer(Job("2101", json::array({Target("phone", "fcm", "tok-phone")})));
  auto result = WaitResult("2101");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ((*result)["outcome"], "sent");
  EXPECT_EQ(provider_.requests().size(), 2u);
  EXPECT_EQ(bridge.Metric("push_bridge_retried_total"), 1);
  EXPECT_EQ(bridge.LogCount("http=0"), 1) << bridge.log();
}

TEST_F(BridgeProcessTest, GivesUpAfterMaxAttemptsAndRemembersIt) {
  PushBridgeProcess bridge(Options());  // max_attempts 3
  ASSERT_EQ(bridge.Start(), "");
  provider_.Script(std::vector<ProviderStep>(10, ProviderStep(503)));
  Offer(Job("3001", json::array({Target("phone", "fcm", "tok-phone")})));

  auto result = WaitResult("3001");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ(*result, json::parse(R"({"job":"3001","outcome":"failed","invalid_devices":[]})"));
  EXPECT_EQ(provider_.requests().size(), 3u);
  EXPECT_EQ(bridge.Metric("push_bridge_failed_total"), 1);
  EXPECT_EQ(bridge.Metric("push_bridge_retried_total"), 2);
  EXPECT_EQ(bridge.LogCount("job=3001 device=phone provider=fcm attempt=3/3 http=503 "), 1) << bridge.log();
  EXPECT_EQ(bridge.LogCount("outcome=failed: gave up after 3 attempts"), 1);

  // Offered again (its result lost, say): answered from the journal, the provider left alone.
  Offer(Job("3001", json::array({Target("phone", "fcm", "tok-phone")})));
  result = WaitResult("3001");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ((*result)["outcome"], "failed");
  EXPECT_EQ(provider_.requests().size(), 3u);
  EXPECT_EQ(bridge.Metric("push_bridge_journal_hits_total"), 1);
}

TEST_F(BridgeProcessTest, InvalidTokensAreReported) {
  PushBridgeProcess bridge(Options());
  ASSERT_EQ(bridge.Start(), "");
  provider_.SetInvalidToken("tok-tablet");  // 410 {"error":"invalid_token"}
  provider_.SetInvalidToken("tok-watch", 400, R"({"reason":"BadDeviceToken"})");
  Offer(Job("4001", json::array({Target("phone", "fcm", "tok-phone"), Target("tablet", "fcm", "tok-tablet"),
                                 Target("watch", "apns", "tok-watch", "ios")})));

  auto result = WaitResult("4001");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ(*result, json::parse(R"({"job":"4001","outcome":"sent","invalid_devices":["tablet","watch"]})"));
  EXPECT_EQ(provider_.RequestsForToken("tok-tablet").size(), 1u);  // not retried
  EXPECT_EQ(provider_.RequestsForToken("tok-watch").size(), 1u);
  EXPECT_EQ(bridge.Metric("push_bridge_invalid_tokens_total"), 2);
  EXPECT_EQ(bridge.Metric("push_bridge_sent_total"), 1);

  // Only dead tokens: nothing was sent.
  Offer(Job("4002", json::array({Target("tablet", "fcm", "tok-tablet")})));
  result = WaitResult("4002");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, json::parse(R"({"job":"4002","outcome":"failed","invalid_devices":["tablet"]})"));
}

TEST_F(BridgeProcessTest, CredentialErrorsFailWithoutBlamingTheToken) {
  PushBridgeProcess bridge(Options());
  ASSERT_EQ(bridge.Start(), "");
  provider_.Script({{401, 0, R"({"error":"invalid_token"})"}});
  Offer(Job("4101", json::array({Target("phone", "fcm", "tok-phone")})));
  auto result = WaitResult("4101");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ(*result, json::parse(R"({"job":"4101","outcome":"failed","invalid_devices":[]})"));
  EXPECT_EQ(provider_.requests().size(), 1u);  // permanent: not retried
  EXPECT_EQ(bridge.LogCount("outcome=failed: permanent error"), 1) << bridge.log();
}

TEST_F(BridgeProcessTest, NothingIsSentTwiceAfterAKillAndRestart) {
  PushBridgeOptions options = Options();
  options.max_attempts = 5;
  options.initial_backoff_ms = 1500;
  options.max_backoff_ms = 3000;
  auto bridge = std::make_unique<PushBridgeProcess>(options);
  ASSERT_EQ(bridge->Start(), "");
  provider_.ScriptToken("tok-tablet", std::vector<ProviderStep>(5, ProviderStep(500)));
  json job = Job("5001", json::array({Target("phone", "fcm", "tok-phone"), Target("tablet", "fcm", "tok-tablet")}));
  Offer(job);

  // Mid-way: the phone's push is accepted, the tablet's waits for a retry. Then the process dies.
  ASSERT_TRUE(provider_.WaitUntil([](const std::vector<RecordedRequest>& all) {
    bool phone = false;
    bool tablet = false;
    for (const RecordedRequest& r : all) {
      phone = phone || (r.token() == "tok-phone" && r.status == 200);
      tablet = tablet || r.token() == "tok-tablet";
    }
    return phone && tablet;
  })) << bridge->log();
  ASSERT_TRUE(bridge->WaitForLog("job=5001 device=tablet provider=fcm attempt=1/5 http=500")) << bridge->log();
  bridge->Kill();
  EXPECT_TRUE(ResultsWithin(200ms).empty());

  // The server's lease runs out and it offers the job again, to the restarted bridge (same journal).
  provider_.ScriptToken("tok-tablet", {});
  ASSERT_EQ(bridge->Start(), "");
  Offer(job);
  auto result = WaitResult("5001");
  ASSERT_TRUE(result.has_value()) << bridge->log();
  EXPECT_EQ(*result, json::parse(R"({"job":"5001","outcome":"sent","invalid_devices":[]})"));
  EXPECT_EQ(provider_.RequestsForToken("tok-phone").size(), 1u);
  EXPECT_EQ(provider_.AcceptedForToken("tok-tablet"), 1u);
  EXPECT_EQ(bridge->LogCount("job=5001 device=phone outcome=accepted from the journal"), 1) << bridge->log();

  // A job accepted before the restart: answered from the journal, no request at all.
  std::size_t before = provider_.requests().size();
  bridge->Kill();
  ASSERT_EQ(bridge->Start(), "");
  Offer(job);
  result = WaitResult("5001");
  ASSERT_TRUE(result.has_value()) << bridge->log();
  EXPECT_EQ((*result)["outcome"], "sent");
  EXPECT_TRUE(ResultsWithin(300ms).empty());
  EXPECT_EQ(provider_.requests().size(), before);
  EXPECT_EQ(bridge->Metric("push_bridge_journal_hits_total"), 1);
}

TEST_F(BridgeProcessTest, TwoInstancesInOneGroupSendEachJobOnce) {
  PushBridgeOptions a_options = Options();
  a_options.device = "bridge-1";
  PushBridgeOptions b_options = Options();
  b_options.device = "bridge-2";
  PushBridgeProcess a(a_options);
  PushBridgeProcess b(b_options);
  ASSERT_EQ(a.Start(), "");
  ASSERT_EQ(b.Start(), "");

  constexpr int kJobs = 20;
  for (int i = 0; i < kJobs; ++i) {
    Offer(Job(std::to_string(6000 + i), json::array({Target("phone", "fcm", "tok-" + std::to_string(i))})));
  }
  std::set<std::string> answered;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (answered.size() < kJobs && std::chrono::steady_clock::now() < deadline) {
    for (const json& r : ResultsWithin(100ms)) {
      EXPECT_EQ(r["outcome"], "sent");
      EXPECT_TRUE(answered.insert(r["job"].get<std::string>()).second) << "answered twice: " << r;
    }
  }
  ASSERT_EQ(answered.size(), static_cast<std::size_t>(kJobs)) << a.log() << b.log();
  for (const json& r : ResultsWithin(500ms)) ADD_FAILURE() << "extra result " << r;

  auto requests = provider_.requests();
  EXPECT_EQ(requests.size(), static_cast<std::size_t>(kJobs));
  std::set<std::string> keys;
  for (const RecordedRequest& r : requests) keys.insert(r.header("idempotency-key"));
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(kJobs));
  double sent_a = a.Metric("push_bridge_sent_total");
  double sent_b = b.Metric("push_bridge_sent_total");
  EXPECT_EQ(sent_a + sent_b, kJobs);
  EXPECT_GT(sent_a, 0);  // the broker spreads a shared subscription's messages over its members
  EXPECT_GT(sent_b, 0);
}

TEST_F(BridgeProcessTest, InstancesSharingAJournalDoNotResendAnothersJob) {
  PushBridgeOptions a_options = Options();
  a_options.device = "bridge-1";
  PushBridgeProcess a(a_options);
  PushBridgeOptions b_options = Options();
  b_options.device = "bridge-2";
  b_options.journal_file = a.journal_path();
  PushBridgeProcess b(b_options);
  ASSERT_EQ(a.Start(), "");
  ASSERT_EQ(b.Start(), "");

  json job = Job("7001", json::array({Target("phone", "fcm", "tok-phone")}));
  Offer(job);
  auto result = WaitResult("7001");
  ASSERT_TRUE(result.has_value()) << a.log() << b.log();
  ASSERT_EQ(provider_.requests().size(), 1u);

  // The instance that sent it dies; the job is offered again and only the other one is left to take it.
  bool a_sent = a.Metric("push_bridge_sent_total") == 1;
  PushBridgeProcess& survivor = a_sent ? b : a;
  (a_sent ? a : b).Kill();
  std::this_thread::sleep_for(200ms);
  Offer(job);
  result = WaitResult("7001");
  ASSERT_TRUE(result.has_value()) << survivor.log();
  EXPECT_EQ((*result)["outcome"], "sent");
  EXPECT_EQ(provider_.requests().size(), 1u);
  EXPECT_EQ(survivor.Metric("push_bridge_journal_hits_total"), 1);
}

TEST_F(BridgeProcessTest, GivesBackJobsItCannotFinishWithinTheLease) {
  // lease 5 s: no attempt may end later than 3 s after a job arrived. Each request takes 0.8 s, one at
  // a time, so of five jobs offered together the last cannot be started in time.
  PushBridgeOptions options = Options();
  options.lease_seconds = 5;
  options.timeout_ms = 1000;
  options.max_attempts = 2;
  options.initial_backoff_ms = 100;
  options.max_backoff_ms = 100;
  PushBridgeProcess bridge(options);
  ASSERT_EQ(bridge.Start(), "");
  provider_.Script(std::vector<ProviderStep>(5, ProviderStep(200, 800)));
  for (int i = 0; i < 5; ++i) Offer(Job(std::to_string(7500 + i), json::array({Target("phone", "fcm", "t")})));

  std::set<std::string> answered;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline && bridge.Metric("push_bridge_jobs_in_progress") != 0) {
    for (const json& r : ResultsWithin(100ms)) answered.insert(r["job"].get<std::string>());
  }
  for (const json& r : ResultsWithin(200ms)) answered.insert(r["job"].get<std::string>());
  double given_back = bridge.Metric("push_bridge_dropped_total");
  EXPECT_GE(given_back, 1) << bridge.log();
  EXPECT_EQ(answered.size() + given_back, 5u) << bridge.log();
  EXPECT_EQ(provider_.requests().size(), answered.size());  // a job given back was not attempted
  EXPECT_FALSE(answered.count("7504"));
  EXPECT_EQ(bridge.LogCount("job=7504 given back"), 1) << bridge.log();

  // The server offers it again after its lease: now it goes through.
  Offer(Job("7504", json::array({Target("phone", "fcm", "t")})));
  auto result = WaitResult("7504");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ((*result)["outcome"], "sent");
}

TEST_F(BridgeProcessTest, DropsJobsBeyondTheQueueCapacity) {
  PushBridgeOptions options = Options();
  options.extra_yaml = "queue_capacity: 2\n";
  PushBridgeProcess bridge(options);
  ASSERT_EQ(bridge.Start(), "");
  provider_.Script(std::vector<ProviderStep>(4, ProviderStep(200, 1000)));
  for (int i = 0; i < 4; ++i) Offer(Job(std::to_string(7600 + i), json::array({Target("phone", "fcm", "t")})));
  // The first is being sent and the second waits: the other two find the queue full.
  std::set<std::string> answered;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (answered.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    for (const json& r : ResultsWithin(100ms)) answered.insert(r["job"].get<std::string>());
  }
  for (const json& r : ResultsWithin(300ms)) answered.insert(r["job"].get<std::string>());
  EXPECT_EQ(answered, (std::set<std::string>{"7600", "7601"})) << bridge.log();
  EXPECT_EQ(bridge.Metric("push_bridge_dropped_total"), 2);
  EXPECT_EQ(bridge.LogCount("queue full (2 jobs)"), 2);
}

TEST_F(BridgeProcessTest, MalformedJobs) {
  PushBridgeProcess bridge(Options());
  ASSERT_EQ(bridge.Start(), "");
  Offer(std::string("not json"));
  Offer(json::parse(R"({"job":"8001","targets":"phone"})"));
  Offer(Job("8002", json::array()));
  Offer(Job("8003", json::array({Target("phone", "hms", "tok-phone")})));

  for (const char* id : {"8001", "8002", "8003"}) {
    auto result = WaitResult(id);
    ASSERT_TRUE(result.has_value()) << id << "\n" << bridge.log();
    EXPECT_EQ((*result)["outcome"], "failed") << id;
  }
  EXPECT_TRUE(provider_.requests().empty());
  EXPECT_EQ(bridge.Metric("push_bridge_dropped_total"), 1);  // the one without a job id
  EXPECT_EQ(bridge.LogCount("dropped a job that cannot be answered: not a JSON object"), 1) << bridge.log();
  EXPECT_EQ(bridge.LogCount("no such provider in the bridge's config"), 1);
}

TEST_F(BridgeProcessTest, ReconnectsAndResubscribesAfterABrokerRestart) {
  PushBridgeProcess bridge(Options());
  ASSERT_EQ(bridge.Start(), "");
  server_.reset();
  ASSERT_EQ(broker_.Stop(), 0);
  ASSERT_EQ(broker_.Start(), "");
  ASSERT_TRUE(bridge.WaitForLog("push-bridge: ready:", 2, 40s)) << bridge.log();
  ConnectServer();
  Offer(Job("9001", json::array({Target("phone", "fcm", "tok-phone")})));
  auto result = WaitResult("9001");
  ASSERT_TRUE(result.has_value()) << bridge.log();
  EXPECT_EQ((*result)["outcome"], "sent");
}

TEST_F(BridgeProcessTest, StopsCleanlyOnSigterm) {
  PushBridgeProcess bridge(Options());
  ASSERT_EQ(bridge.Start(), "");
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(bridge.Stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
  EXPECT_EQ(bridge.LogCount("push-bridge: stopped"), 1) << bridge.log();
}

TEST_F(BridgeProcessTest, BadConfigExitsNamingTheKey) {
  PushBridgeOptions options = Options();
  options.config_text = "broker:\n  port: 0\n";
  PushBridgeProcess bridge(options);
  std::string error = bridge.Start();
  EXPECT_NE(error.find("status 2"), std::string::npos) << error;
  EXPECT_NE(error.find("broker.port: must be 1..65535, got 0"), std::string::npos) << error;
}

}  // namespace
}  // namespace chat::harness
