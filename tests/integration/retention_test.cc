// Retention with the real broker: a store holding messages and queue entries from 40 days ago to
// yesterday, a server set to keep 30 days of history and 7 of queues; the sweep (at start-up, or
// `chatctl retention`) removes exactly what is older, history and sync answer with the rest, and
// `chatctl stats` counts what is left.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/message_id.h"
#include "harness/child_process.h"
#include "tests/integration/broker_fixture.h"

namespace chat::harness {
namespace {

using nlohmann::json;

constexpr std::int64_t kDayMs = 86400000;

class RetentionTest : public BrokerFixture {
 protected:
  CommandResult Chatctl(const std::string& arguments) {
    return RunCommand(std::string(CHATCTL_PATH) + " --broker 127.0.0.1:" + std::to_string(broker_->mqtt_port()) +
                      " --admin root --admin-password pw-root " + arguments);
  }
};

TEST_F(RetentionTest, TheSweepRemovesWhatIsOlderThanTheSettingsAndNothingElse) {
  broker_ = std::make_unique<BrokerProcess>(
      BrokerOptions{.extra_yaml = "retention:\n  history_days: 30\n  queue_days: 7\n"});
  for (const char* user : {"alice", "bob"}) ASSERT_EQ(broker_->AddUserOffline(user, "pw-" + std::string(user)), "");
  ASSERT_EQ(broker_->AddUserOffline("root", "pw-root", true), "");
  // alice to bob, 40, 35, 20, 5 and 1 days ago; bob's queue holds each of them.
  std::int64_t now = core::SystemClock().NowMillis();
  std::vector<int> days = {40, 35, 20, 5, 1};
  std::vector<std::string> kept_ids;
  ASSERT_EQ(broker_->WithStoreOffline([&](core::Store& store, const config::ServerConfig&) {
    core::WriteSet writes;
    std::uint64_t seq = 0;
    for (int age : days) {
      core::MessageId id = core::MessageIdGenerator::FirstIdAt(now - age * kDayMs) + 1;
      core::StoredMessage message;
      message.id = id;
      message.from = "alice";
      message.to = "bob";
      message.text = "sent " + std::to_string(age) + " days ago";
      message.created_at_ms = core::MessageIdGenerator::TimestampMillis(id);
      writes.queue.push_back({"bob", ++seq,
                              {core::QueueEntry::Kind::kMessage, message.conversation(), id, "", message.created_at_ms}});
      writes.messages.push_back(message);
      writes.id_floor = id;
      if (age < 30) kept_ids.push_back(core::FormatMessageId(id));
    }
    writes.peers.push_back({"alice", {"bob", writes.id_floor}});
    writes.peers.push_back({"bob", {"alice", writes.id_floor}});
    return store.Apply(writes);
  }), "");
  ASSERT_EQ(broker_->Start(), "");

  // Whichever sweep comes first, the one 5 s after start-up or this one, removes the same.
  CommandResult swept = Chatctl("retention");
  ASSERT_EQ(swept.exit_code, 0) << swept.output;
  EXPECT_NE(swept.output.find("removed"), std::string::npos) << swept.output;
  EXPECT_NE(broker_->log().find("retention removed 2 messages and 3 queue entries"), std::string::npos)
      << broker_->log();

  auto bob = Device("bob", "phone");
  auto history = Request(*bob, "history", {{"peer", "alice"}, {"order", "oldest_first"}});
  ASSERT_TRUE(history);
  std::vector<std::string> ids;
  for (const json& m : (*history)["messages"]) ids.push_back(m["id"].get<std::string>());
  EXPECT_EQ(ids, kept_ids) << "history keeps 30 days: the messages of 20, 5 and 1 days ago";

  auto sync = Request(*bob, "sync", {{"after", 0}});
  ASSERT_TRUE(sync);
  EXPECT_EQ((*sync)["last_seq"], 5);
  EXPECT_EQ(sync->value("truncated", false), true) << sync->dump();
  std::vector<std::int64_t> seqs;
  for (const json& e : (*sync)["events"]) seqs.push_back(e["seq"].get<std::int64_t>());
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{4, 5})) << "queues keep 7 days: the entries of 5 and 1 days ago";

  CommandResult stats = Chatctl("stats --json");
  ASSERT_EQ(stats.exit_code, 0) << stats.output;
  json counted = json::parse(stats.output.substr(stats.output.find('{')));
  EXPECT_EQ(counted["messages"], 3);
  EXPECT_EQ(counted["users"], 3);
  EXPECT_EQ(counted["groups"], 0);
  EXPECT_TRUE(counted["table_bytes"].contains("messages_direct")) << counted.dump();

  // A second sweep finds nothing more to remove.
  CommandResult again = Chatctl("retention");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("removed 0 messages and 0 queue entries"), std::string::npos) << again.output;
}

TEST_F(RetentionTest, WithoutRetentionTheSweepIsRefusedAndNothingIsRemoved) {
  StartBroker({"alice"}, "", {}, {"root"});
  CommandResult swept = Chatctl("retention");
  EXPECT_EQ(swept.exit_code, 1);
  EXPECT_NE(swept.output.find("retention is off"), std::string::npos) << swept.output;
}

}  // namespace
}  // namespace chat::harness
