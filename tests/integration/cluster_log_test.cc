// ClusterLogTest: a chat node (the real broker and plugin) whose changes go to a JetStream stream on three
// real nats-servers (harness/nats_cluster.h). A chat ack means the log's quorum has the change: with two
// of the three servers down there is none, and the send waits, unacknowledged and undelivered, however
// long; once a server is back the same send is acknowledged, delivered and logged once, without being sent
// again. A node restarted while the log cannot be reached does not start on changes it could not append.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>

#include "harness/broker_process.h"
#include "harness/nats_cluster.h"
#include "storage/change_record.h"
#include "tests/harness/test_client.h"

namespace chat::harness {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Password(const std::string& user) { return "pw-" + user; }

class ClusterLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(nats_.Start(), "");
    broker_ = std::make_unique<BrokerProcess>(
        BrokerOptions{.extra_yaml = nats_.ClusterYaml() + "  append_retry_ms: 300\n  start_timeout_seconds: 15\n"});
    for (const char* user : {"alice", "bob"}) ASSERT_EQ(broker_->AddUserOffline(user, Password(user)), "");
    ASSERT_EQ(broker_->Start(), "");
  }
  void TearDown() override {
    if (HasFailure() && broker_) std::cerr << "broker log:\n" << broker_->log() << "\n";
  }
  // How many logged changes hold the message `id`.
  int Logged(const std::string& id) {
    StreamReader reader(nats_.urls());
    std::vector<LoggedChange> changes = reader.ReadAll("CHAT_LOG");
    EXPECT_EQ(reader.error(), "");
    int found = 0;
    for (const LoggedChange& change : changes) {
      core::WriteSet writes;
      EXPECT_TRUE(storage::DecodeChange(change.data, &writes).ok());
      for (const core::StoredMessage& message : writes.messages) found += core::FormatMessageId(message.id) == id;
    }
    return found;
  }

  NatsCluster nats_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(ClusterLogTest, WithoutAQuorumOfTheLogASendWaitsAndIsAcknowledgedOnceTheQuorumIsBack) {
  ChatTestClient alice(broker_->mqtt_uri(), "alice", "phone");
  ChatTestClient bob(broker_->mqtt_uri(), "bob", "phone");
  ASSERT_EQ(alice.Connect(Password("alice")), "");
  ASSERT_EQ(bob.Connect(Password("bob")), "");
  ASSERT_TRUE(alice.SubscribeOwn());
  ASSERT_TRUE(bob.SubscribeOwn());
  ASSERT_EQ(alice.Send("bob", "before", "c0"), 0);
  auto first = alice.WaitForType("ack");
  ASSERT_TRUE(first.has_value()) << "a healthy log acknowledges";
  ASSERT_TRUE(bob.WaitForType("message").has_value());

  nats_.server(1).Kill();
  nats_.server(2).Kill();
  ASSERT_EQ(alice.Send("bob", "while the log has no quorum", "c1"), 0);
  EXPECT_FALSE(alice.WaitForType("ack", seconds(3)).has_value()) << "acknowledged without a quorum";
  EXPECT_FALSE(bob.WaitForType("message", milliseconds(100)).has_value()) << "delivered without a quorum";

  ASSERT_EQ(nats_.Start(), "");  // both back; a quorum again once they rejoin
  auto ack = alice.WaitForType("ack", seconds(30));
  ASSERT_TRUE(ack.has_value()) << "the waiting send is acknowledged without being sent again";
  EXPECT_EQ((*ack)["cmid"], "c1");
  auto delivered = bob.WaitForType("message", seconds(5));
  ASSERT_TRUE(delivered.has_value());
  EXPECT_EQ((*delivered)["id"], (*ack)["id"]);
  EXPECT_EQ(Logged((*ack)["id"].get<std::string>()), 1) << "appended every 300 ms meanwhile, logged once";
  EXPECT_EQ(Logged((*first)["id"].get<std::string>()), 1);
}

TEST_F(ClusterLogTest, ANodeWhoseUnappendedChangesTheLogCannotTakeDoesNotStart) {
  ChatTestClient alice(broker_->mqtt_uri(), "alice", "phone");
  ASSERT_EQ(alice.Connect(Password("alice")), "");
  ASSERT_TRUE(alice.SubscribeOwn());
  for (int i = 1; i < nats_.size(); ++i) nats_.server(i).Kill();
  ASSERT_EQ(alice.Send("bob", "never acknowledged", "c1"), 0);
  EXPECT_FALSE(alice.WaitForType("ack", seconds(1)).has_value());
  broker_->Kill();  // the change is in the node's outbox only
  alice.Disconnect();
  std::string error = broker_->Start();
  EXPECT_NE(error, "") << "started although its outbox could not be appended";
  EXPECT_FALSE(broker_->running());

  ASSERT_EQ(nats_.Start(), "");
  ASSERT_EQ(broker_->Start(), "") << "with the log back, the outbox goes to it and the node starts";
  ChatTestClient again(broker_->mqtt_uri(), "alice", "phone");
  ASSERT_EQ(again.Connect(Password("alice")), "");
  ASSERT_TRUE(again.SubscribeOwn());
  ASSERT_EQ(again.Send("bob", "never acknowledged", "c1"), 0);  // the client's retry
  auto ack = again.WaitForType("ack");
  ASSERT_TRUE(ack.has_value());
  EXPECT_TRUE(ack->value("duplicate", false)) << "stored at the start, from the outbox";
  EXPECT_EQ(Logged((*ack)["id"].get<std::string>()), 1);
}

}  // namespace
}  // namespace chat::harness
