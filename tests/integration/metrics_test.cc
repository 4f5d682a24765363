// The plugin's metrics with the real broker: the Prometheus endpoint's counters move by exactly what a
// scripted exchange did, nothing in them names a user or quotes a message, and the same figures reach
// an admin as retained $SYS/broker/chat/... topics (ordinary users may not read those).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "harness/child_process.h"
#include "harness/metrics_scrape.h"
#include "tests/integration/broker_fixture.h"

namespace chat::harness {
namespace {

using nlohmann::json;

class MetricsTest : public BrokerFixture {
 protected:
  void SetUp() override {
    port_ = FreeLoopbackPort();
    StartBroker({"alice", "bob"},
                "metrics:\n  port: " + std::to_string(port_) + "\n  sys_interval_seconds: 1\n", {}, {"root"});
  }

  // How far each named sample moved between two scrapes (a sample missing from either counts as 0).
  static double Moved(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                      const std::string& sample) {
    auto value = [&sample](const std::map<std::string, double>& scrape) {
      auto it = scrape.find(sample);
      return it == scrape.end() ? 0.0 : it->second;
    };
    return value(after) - value(before);
  }

  int port_ = 0;
};

TEST_F(MetricsTest, CountersMoveByExactlyWhatAScriptedExchangeDid) {
  std::map<std::string, double> before = ScrapeMetrics(port_);
  ASSERT_FALSE(before.empty()) << "nothing served /metrics on port " << port_;

  // Two logins, one refused login, three sends that are stored and one that is refused.
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  ChatTestClient intruder(broker_->mqtt_uri(), "bob", "laptop");
  EXPECT_NE(intruder.Connect("not-bobs-password"), "");
  for (int i = 0; i < 3; ++i) {
    auto ack = Request(*alice, "send", {{"to", "bob"}, {"text", "secret text " + std::to_string(i)}});
    ASSERT_TRUE(ack);
    ASSERT_EQ((*ack)["type"], "ack") << ack->dump();
  }
  auto refused = Request(*alice, "send", {{"to", "nobody"}, {"text", "to no one"}});
  ASSERT_TRUE(refused);
  ASSERT_EQ((*refused)["code"], "unknown_peer") << refused->dump();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(bob->WaitFor([](const Received& r) { return r.json.value("type", "") == "message"; }));

  std::map<std::string, double> after = ScrapeMetrics(port_);
  EXPECT_EQ(Moved(before, after, "chat_logins_total{result=\"ok\"}"), 2);
  EXPECT_EQ(Moved(before, after, "chat_logins_total{result=\"wrong_credentials\"}"), 1);
  EXPECT_EQ(Moved(before, after, "chat_logins_total{result=\"checking\"}"), 0);
  EXPECT_EQ(after["chat_connections"], 2);
  EXPECT_EQ(Moved(before, after, "chat_requests_total{request=\"send\"}"), 4);
  EXPECT_EQ(Moved(before, after, "chat_messages_stored_total{conversation=\"direct\"}"), 3);
  EXPECT_EQ(Moved(before, after, "chat_messages_stored_total{conversation=\"group\"}"), 0);
  EXPECT_EQ(Moved(before, after, "chat_requests_rejected_total{code=\"unknown_peer\"}"), 1);
  EXPECT_EQ(Moved(before, after, "chat_requests_rejected_total{code=\"rate_limited\"}"), 0);
  EXPECT_EQ(Moved(before, after, "chat_deliveries_total"), 3) << "one device of bob's, three messages";
  EXPECT_EQ(Moved(before, after, "chat_presence_changes_total{state=\"online\"}"), 2);
  // Each send and each presence change is one commit; batches hold one or more.
  EXPECT_GE(Moved(before, after, "chat_commit_submissions_total"), 5);
  EXPECT_GE(Moved(before, after, "chat_commit_write_seconds_count"), 1);
  EXPECT_EQ(after["chat_commit_write_seconds_count"], after["chat_commit_batches_total"]);
  EXPECT_EQ(after["chat_commit_queue_depth"], 0);
  EXPECT_GT(after["chat_store_bytes"], 0);
  for (const auto& [sample, value] : after) {
    EXPECT_EQ(sample.find("alice"), std::string::npos) << sample;
    EXPECT_EQ(sample.find("bob"), std::string::npos) << sample;
    EXPECT_EQ(sample.find("secret"), std::string::npos) << sample;
  }

  // The same figures as $SYS topics, retained, for admins only.
  auto root = Device("root", "console", "", /*subscribe=*/false);
  ASSERT_TRUE(root->Subscribe("$SYS/broker/chat/#"));
  auto sys = root->WaitFor([](const Received& r) { return r.topic == "$SYS/broker/chat/messages_stored/direct"; });
  ASSERT_TRUE(sys) << "no $SYS/broker/chat topics within the wait";
  EXPECT_GE(std::stod(sys->payload), 3);
  EXPECT_FALSE(alice->Subscribe("$SYS/broker/chat/#")) << "an ordinary user read the server's metrics";
}

TEST_F(MetricsTest, AnEndpointThatCannotListenStopsTheStartWithTheReason) {
  // This broker's endpoint holds port_: a second server asked for the same port must not start.
  BrokerProcess second(BrokerOptions{.extra_yaml = "metrics:\n  port: " + std::to_string(port_) + "\n"});
  std::string started = second.Start();
  EXPECT_NE(started, "") << "a second server started without its metrics endpoint";
  EXPECT_NE(second.log().find("metrics: cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << second.log();
}

}  // namespace
}  // namespace chat::harness
