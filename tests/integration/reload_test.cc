// SIGHUP with the real broker: the plugin reads its YAML file again and applies what can change at run
// time (here a send rate), logs what waits for a restart, and keeps its settings when the file is broken.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "harness/broker_process.h"
#include "tests/harness/test_client.h"

namespace chat::harness {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kGenerous[] = "node_id: 1\nlimits:\n  send_rate_per_second: 1000\n  send_burst: 1000\n";

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(BrokerOptions{.extra_yaml = kGenerous});
    for (const char* user : {"alice", "bob"}) ASSERT_EQ(broker_->AddUserOffline(user, "pw-" + std::string(user)), "");
    ASSERT_EQ(broker_->Start(), "");
    alice_ = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "alice", "phone");
    ASSERT_EQ(alice_->Connect("pw-alice"), "");
    ASSERT_TRUE(alice_->SubscribeOwn());
  }

  // Replaces `from` with `to` in the broker's chat.yaml.
  void EditConfig(const std::string& from, const std::string& to) {
    std::ifstream in(broker_->chat_config_path());
    std::stringstream text;
    text << in.rdbuf();
    std::string yaml = text.str();
    std::size_t at = yaml.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in:\n" << yaml;
    yaml.replace(at, from.size(), to);
    std::ofstream(broker_->chat_config_path()) << yaml;
  }

  // SIGHUP, then waits (bounded) until the broker's log shows `line`.
  bool ReloadAndWaitForLog(const std::string& line) {
    if (!broker_->Signal(SIGHUP)) return false;
    for (int i = 0; i < 100; ++i) {
      if (broker_->log().find(line) != std::string::npos) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }

  // Sends `count` messages to bob and counts the chat acks and rate_limited errors that come back.
  std::pair<int, int> SendBurst(int count, const std::string& prefix) {
    for (int i = 0; i < count; ++i) alice_->Send("bob", "m", prefix + std::to_string(i));
    int acks = 0;
    int limited = 0;
    auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (acks + limited < count && std::chrono::steady_clock::now() < deadline) {
      auto reply = alice_->WaitFor([](const Received& r) { return r.topic == "chat/v1/user/alice/reply"; },
                                   milliseconds(500));
      if (!reply) continue;
      if (reply->json.value("type", "") == "ack") ++acks;
      if (reply->json.value("code", "") == "rate_limited") ++limited;
    }
    return {acks, limited};
  }

  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<ChatTestClient> alice_;
};

TEST_F(ReloadTest, SighupAppliesANewSendRateAndNamesWhatNeedsARestart) {
  EXPECT_EQ(SendBurst(10, "before-"), std::make_pair(10, 0)) << "the generous rate of the start";

  EditConfig("send_rate_per_second: 1000\n  send_burst: 1000", "send_rate_per_second: 1\n  send_burst: 3");
  EditConfig("node_id: 1", "node_id: 7");
  ASSERT_TRUE(ReloadAndWaitForLog("applied limits.send_rate_per_second: 1000 -> 1; limits.send_burst: 1000 -> 3"))
      << broker_->log();
  EXPECT_NE(broker_->log().find("take effect at the next start: node_id: 1 -> 7"), std::string::npos)
      << broker_->log();

  // The bucket holds at most the new burst, and refills by one a second: of 20 sends in a row, the
  // first three go through and at most a few more (however slow this machine), the rest are refused.
  auto [acks, limited] = SendBurst(20, "after-");
  EXPECT_GE(acks, 3);
  EXPECT_GE(limited, 10) << acks << " of 20 sends went through at 1 a second with a burst of 3";
  EXPECT_TRUE(alice_->connected());
}

TEST_F(ReloadTest, ABrokenFileOnSighupChangesNothingAndTheBrokerServesOn) {
  EditConfig("send_burst: 1000", "send_burst: 0");
  ASSERT_TRUE(ReloadAndWaitForLog("reload refused, the running settings stay")) << broker_->log();
  EXPECT_NE(broker_->log().find("limits.send_burst: must be 1..1000000, got 0"), std::string::npos) << broker_->log();
  EXPECT_EQ(SendBurst(10, "still-"), std::make_pair(10, 0));

  EditConfig("send_burst: 0", "send_burst: 1000");
  ASSERT_TRUE(ReloadAndWaitForLog("no setting changed")) << broker_->log();
}

}  // namespace
}  // namespace chat::harness
