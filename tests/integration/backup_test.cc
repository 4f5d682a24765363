// Online backup and restore with the real broker and the real chatctl: a backup taken while alice sends
// to bob (offline, so his queue grows) is restored into a new server's data folder; the restored server
// answers with a consistent prefix of the original's history and of bob's queue, nothing torn.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/child_process.h"
#include "tests/integration/broker_fixture.h"

namespace chat::harness {
namespace {

using nlohmann::json;

class BackupTest : public BrokerFixture {
 protected:
  void SetUp() override {
    StartBroker({"alice", "bob"},
                "limits:\n  send_rate_per_second: 100000\n  send_burst: 100000\n  request_rate_per_second: 100000\n"
                "  request_burst: 100000\n",
                {}, {"root"});
    backups_ = std::filesystem::temp_directory_path() / ("chat-backup-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(backups_);
    std::filesystem::create_directories(backups_);
  }
  void TearDown() override { std::filesystem::remove_all(backups_); }

  CommandResult Chatctl(const std::string& arguments) {
    return RunCommand(std::string(CHATCTL_PATH) + " " + arguments);
  }
  std::string Online() const {
    return "--broker 127.0.0.1:" + std::to_string(broker_->mqtt_port()) + " --admin root --admin-password pw-root ";
  }

  // Every message of alice and bob's conversation, oldest first, as "id:text".
  std::vector<std::string> History(ChatTestClient& client) {
    std::vector<std::string> all;
    json body = {{"peer", client.user() == "bob" ? "alice" : "bob"}, {"limit", 100}, {"order", "oldest_first"}};
    for (int page = 0; page < 1000; ++page) {
      auto reply = Request(client, "history", body);
      if (!reply || (*reply)["type"] != "history") break;
      for (const json& m : (*reply)["messages"]) all.push_back(m["id"].get<std::string>() + ":" + m["text"].get<std::string>());
      if (!reply->value("more", false) || (*reply)["messages"].empty()) break;
      body["after"] = (*reply)["messages"].back()["id"];
    }
    return all;
  }

  // Bob's sync queue, as "seq:text".
  std::vector<std::string> Queue(ChatTestClient& client) {
    std::vector<std::string> all;
    std::int64_t after = 0;
    for (int page = 0; page < 1000; ++page) {
      auto reply = Request(client, "sync", {{"after", after}, {"limit", 500}});
      if (!reply || (*reply)["type"] != "sync") break;
      for (const json& e : (*reply)["events"]) {
        after = e["seq"].get<std::int64_t>();
        all.push_back(std::to_string(after) + ":" + e.value("text", e.value("event", "")));
      }
      if (!reply->value("more", false)) break;
    }
    return all;
  }

  std::string backups_;
};

TEST_F(BackupTest, ABackupUnderTrafficRestoresToAConsistentPrefix) {
  auto alice = Device("alice", "phone");
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread traffic([&] {
    for (int i = 0; !stop && i < 20000; ++i) {
      alice->PublishNoWait("chat/v1/req/send", json{{"to", "bob"}, {"text", "m" + std::to_string(i)}, {"cmid", "c" + std::to_string(i)}}.dump());
      ++sent;
      if (i % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  while (sent < 500) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::string dir = backups_ + "/live";
  CommandResult backup = Chatctl(Online() + "backup " + dir);
  stop = true;
  traffic.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  EXPECT_NE(backup.output.find("backup in " + dir), std::string::npos) << backup.output;
  std::printf("[ measured ] backup under traffic: %s", backup.output.c_str());
  EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_all)
      << "the backup holds password hashes and messages: its folder is the broker account's only";

  // A second backup into the same folder is refused; the server serves on.
  CommandResult again = Chatctl(Online() + "backup " + dir);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("exists already"), std::string::npos) << again.output;

  auto bob = Device("bob", "phone");
  std::vector<std::string> history = History(*bob);
  std::vector<std::string> queue = Queue(*bob);
  ASSERT_FALSE(history.empty());

  // A new server restored from the backup.
  BrokerProcess restored(BrokerOptions{});
  for (const char* user : {"alice", "bob"}) ASSERT_EQ(restored.AddUserOffline(user, "pw-" + std::string(user)), "");
  CommandResult refused = Chatctl("--config " + restored.chat_config_path() + " restore " + dir);
  EXPECT_EQ(refused.exit_code, 1) << "the new server's data folder has its accounts already";
  EXPECT_NE(refused.output.find("is not empty; --force replaces it"), std::string::npos) << refused.output;
  CommandResult restore = Chatctl("--config " + restored.chat_config_path() + " restore --force " + dir);
  ASSERT_EQ(restore.exit_code, 0) << restore.output;
  ASSERT_EQ(restored.Start(), "");
  CommandResult while_running = Chatctl("--config " + restored.chat_config_path() + " restore --force " + dir);
  EXPECT_EQ(while_running.exit_code, 1) << "a running server's data folder was replaced";

  ChatTestClient restored_bob(restored.mqtt_uri(), "bob", "phone");
  ASSERT_EQ(restored_bob.Connect("pw-bob"), "");
  ASSERT_TRUE(restored_bob.SubscribeOwn());
  std::vector<std::string> restored_history = History(restored_bob);
  std::vector<std::string> restored_queue = Queue(restored_bob);
  std::printf("[ measured ] sent %d; original: %zu messages, %zu queued; restored: %zu, %zu\n", sent.load(),
              history.size(), queue.size(), restored_history.size(), restored_queue.size());
  ASSERT_FALSE(restored_history.empty());
  ASSERT_LT(restored_history.size(), history.size()) << "the backup was not taken while messages flowed";
  EXPECT_EQ(restored_history, std::vector<std::string>(history.begin(), history.begin() + restored_history.size()))
      << "the restored history is not a prefix of the original's";
  ASSERT_LE(restored_queue.size(), queue.size());
  EXPECT_EQ(restored_queue, std::vector<std::string>(queue.begin(), queue.begin() + restored_queue.size()))
      << "bob's restored queue is not a prefix of his queue";
  // Every message in the restored history reached bob's restored queue: the backup tore no send apart.
  EXPECT_EQ(restored_queue.size(), restored_history.size());
}

}  // namespace
}  // namespace chat::harness
