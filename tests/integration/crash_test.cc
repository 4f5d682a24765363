// CrashTest: the broker is killed with SIGKILL in the middle of a burst of 1:1 and group sends, restarted,
// and what the clients were told is checked against what the server kept: every send that got its chat
// ack is in history and in every member's sync queue exactly once, under the id it was acked with, in
// order, without seq gaps; a group message is in all members' queues or in none; every unacknowledged
// send, retried with its cmid after the restart, is stored exactly once.
//
// Each test is one seed and kills the broker CHAT_CRASH_ROUNDS times (default 2). The seed picks when
// (after how many chat acks, then how many microseconds) and is printed; CHAT_CRASH_SEED=<n> replays it,
// and e.g. CHAT_CRASH_ROUNDS=100 with one test makes the long soak.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "harness/nats_cluster.h"
#include "storage/change_record.h"
#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kWindow = 16;  // sends in flight per sender, as a fast client pipelines them

int EnvOr(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::atoi(value) : fallback;
}

// One sending device and what it was told. cmid "<user>-<n>" is also the text; every third send goes to
// the group, the others to bob.
class Sender {
 public:
  Sender(std::string user, std::string group) : user_(std::move(user)), group_(std::move(group)) {}

  std::string Connect(const std::string& uri) {
    client_ = std::make_unique<ChatTestClient>(uri, user_, "phone");
    return client_->Connect(Password(user_));
  }

  // Tops the window up with QoS 0 sends (the chat ack is the acknowledgement: PROTOCOL.md), then takes
  // the replies that have arrived. Returns the number of chat acks taken.
  int Pump() {
    while (client_->connected() && in_flight_.size() < kWindow) {
      if (!client_->PublishNoWait("chat/v1/req/send", Request(next_).dump())) break;
      in_flight_.insert(next_++);
    }
    int acks = 0;
    while (auto reply = client_->WaitFor(IsReply, std::chrono::milliseconds(1))) acks += Take(reply->json);
    return acks;
  }

  // After a restart: sends every attempted send that has no chat ack again, with its cmid, and waits for
  // each ack, in the order they were first sent. "" or what went wrong.
  std::string RetryUnacknowledged() {
    std::vector<int> retried(in_flight_.begin(), in_flight_.end());
    for (int n : retried) {
      if (int rc = client_->Publish("chat/v1/req/send", Request(n).dump()); rc < 0 || rc >= 0x80) {
        return CmidOf(n) + ": PUBACK " + std::to_string(rc);
      }
    }
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (!in_flight_.empty() && Clock::now() < deadline) {
      if (auto reply = client_->WaitFor(IsReply, std::chrono::milliseconds(100))) {
        if (Take(reply->json) == 0 && reply->json.value("type", "") == "error") {
          return "retry refused: " + reply->json.dump();
        }
      }
    }
    if (!in_flight_.empty()) return std::to_string(in_flight_.size()) + " retries got no chat ack";
    return "";
  }

  // A retry of an acknowledged send is acknowledged again with the same id and "duplicate". "" or not.
  std::string RetryAcknowledged(int n) {
    std::string cmid = CmidOf(n);
    client_->Publish("chat/v1/req/send", Request(n).dump());
    auto reply = client_->WaitFor([&](const Received& r) { return IsReply(r) && r.json.value("cmid", "") == cmid; });
    if (!reply || reply->json.value("type", "") != "ack") return cmid + ": " + (reply ? reply->json.dump() : "no reply");
    if (reply->json.value("id", "") != acked_.at(cmid)) return cmid + " acked again under another id";
    if (!reply->json.value("duplicate", false)) return cmid + " acked again without \"duplicate\"";
    return "";
  }

  // The cmids attempted so far, by destination.
  std::set<std::string> Attempted(bool to_group) const {
    std::set<std::string> cmids;
    for (int n = 0; n < next_; ++n) {
      if (IsGroupSend(n) == to_group) cmids.insert(CmidOf(n));
    }
    return cmids;
  }

  const std::map<std::string, std::string>& acked() const { return acked_; }
  int attempted() const { return next_; }
  const std::string& user() const { return user_; }
  const std::vector<std::string>& unexpected() const { return unexpected_; }

 private:
  static bool IsReply(const Received& r) { return r.topic.ends_with("/reply") && r.json.is_object(); }
  static bool IsGroupSend(int n) { return n % 3 == 2; }
  std::string CmidOf(int n) const { return user_ + "-" + std::to_string(n); }

  nlohmann::json Request(int n) const {
    std::string cmid = CmidOf(n);
    if (IsGroupSend(n)) return GroupSend(group_, cmid, cmid);
    return {{"to", "bob"}, {"text", cmid}, {"cmid", cmid}};
  }

  // Records a chat ack (1) or an error reply (0: the send stays unacknowledged and is retried).
  int Take(const nlohmann::json& reply) {
    std::string cmid = reply.value("cmid", "");
    if (reply.value("type", "") != "ack") {
      unexpected_.push_back(reply.dump());
      return 0;
    }
    std::size_t dash = cmid.rfind('-');
    if (cmid.substr(0, dash) != user_ || !in_flight_.erase(std::atoi(cmid.c_str() + dash + 1))) {
      if (!acked_.count(cmid)) unexpected_.push_back("ack of a cmid never sent: " + reply.dump());
      return 0;
    }
    auto [it, fresh] = acked_.emplace(cmid, reply.value("id", ""));
    if (!fresh && it->second != reply.value("id", "")) unexpected_.push_back(cmid + " acked under two ids");
    return 1;
  }

  std::string user_;
  std::string group_;
  std::unique_ptr<ChatTestClient> client_;
  int next_ = 0;                               // sends attempted: cmids 0..next_-1
  std::set<int> in_flight_;                    // attempted, no chat ack yet (by n)
  std::map<std::string, std::string> acked_;   // cmid -> the id its chat ack carried
  std::vector<std::string> unexpected_;        // error replies and acks that make no sense
};

class CrashTest : public GroupsSyncTest, public ::testing::WithParamInterface<int> {
 protected:
  // Runs the senders until the killer, after `kill_after` more chat acks and `delay` more, SIGKILLs the
  // broker; then takes what was already on the wire for half a second.
  void BurstUntilKilled(std::vector<Sender>& senders, int kill_after, std::chrono::microseconds delay) {
    std::atomic<int> acks{0};
    std::atomic<bool> killed{false};
    std::mutex mutex;
    std::condition_variable enough;
    std::thread killer([&] {
      std::unique_lock<std::mutex> lock(mutex);
      // Bounded: a burst that stalls is killed anyway (and then fails on what it did not store).
      enough.wait_for(lock, std::chrono::seconds(20), [&] { return acks.load() >= kill_after; });
      lock.unlock();
      std::this_thread::sleep_for(delay);
      broker_->Kill();
      killed = true;
    });
    std::optional<Clock::time_point> drain_until;
    auto deadline = Clock::now() + std::chrono::seconds(40);
    while (Clock::now() < deadline) {
      for (Sender& sender : senders) {
        int taken = sender.Pump();
        if (taken > 0) {
          std::lock_guard<std::mutex> lock(mutex);
          acks += taken;
          enough.notify_one();
        }
      }
      if (killed && !drain_until) drain_until = Clock::now() + std::chrono::milliseconds(500);
      if (drain_until && Clock::now() > *drain_until) break;
    }
    killer.join();
  }

  // Restarts the broker and reconnects the senders (together: see InParallel).
  void Restart(std::vector<Sender>& senders) {
    ASSERT_EQ(broker_->Start(), "");
    std::vector<std::string> errors(senders.size());
    std::vector<std::function<void()>> jobs;
    for (std::size_t i = 0; i < senders.size(); ++i) {
      jobs.push_back([&, i] { errors[i] = senders[i].Connect(broker_->mqtt_uri()); });
    }
    InParallel(jobs);
    for (std::size_t i = 0; i < senders.size(); ++i) ASSERT_EQ(errors[i], "") << senders[i].user();
  }

  // Every message of `history` (group or peer as asker sees it), oldest first, paging back.
  std::vector<json> WholeHistory(SyncingDevice& asker, json query) {
    std::vector<json> newest_first;
    for (int page = 0; page < 1000; ++page) {
      query["limit"] = 100;
      auto reply = asker.Request("history", query);
      if (!reply || reply->value("type", "") != "history") {
        ADD_FAILURE() << "history: " << (reply ? reply->dump() : "no reply");
        break;
      }
      for (const json& m : (*reply)["messages"]) newest_first.push_back(m);
      if (!reply->value("more", false) || (*reply)["messages"].empty()) break;
      query["before"] = (*reply)["messages"].back()["id"];
    }
    return {newest_first.rbegin(), newest_first.rend()};
  }

  void RunKillRounds(int seed, const std::string& extra_yaml, const std::function<void(int round)>& before_burst);

  std::vector<Sender> senders_;
};

// "" when every message carries the id its chat ack carried.
std::string CheckAckedIds(const std::vector<json>& messages, const std::vector<Sender>& senders) {
  for (const json& m : messages) {
    std::string cmid = m.value("cmid", "");
    for (const Sender& sender : senders) {
      auto it = sender.acked().find(cmid);
      if (it != sender.acked().end() && it->second != m.value("id", "")) {
        return cmid + " stored as " + m.value("id", "") + " but acked as " + it->second;
      }
    }
  }
  return "";
}

// The rounds of kills of one seed; `extra_yaml` goes into the broker's config, `before_burst` runs before
// each round's burst. The senders' acks are kept for the caller's own checks.
void CrashTest::RunKillRounds(int seed, const std::string& extra_yaml, const std::function<void(int round)>& before_burst) {
  const int rounds = EnvOr("CHAT_CRASH_ROUNDS", 2);
  // Half the seeds fsync every group commit: the same promise through the power_loss write path.
  const bool power_loss = seed % 2 == 1;
  std::cout << "crash seed " << seed << " (replay: CHAT_CRASH_SEED=" << seed << "), " << rounds << " kills, durability "
            << (power_loss ? "power_loss" : "process_crash") << std::endl;
  std::mt19937 random(static_cast<unsigned>(seed));

  broker_ = std::make_unique<BrokerProcess>(BrokerOptions{
      .extra_yaml = std::string(kFastSends) + "durability: " + (power_loss ? "power_loss" : "process_crash") + "\n" +
                    extra_yaml});
  for (const char* user : {"alice", "bob", "carol", "dave"}) ASSERT_EQ(broker_->AddUserOffline(user, Password(user)), "");
  ASSERT_EQ(broker_->AddContactsOffline({{"alice", "bob"}, {"alice", "carol"}, {"alice", "dave"}, {"carol", "bob"}}), "");
  ASSERT_EQ(broker_->Start(), "");
  std::string group;
  {
    auto owner = Device({.user = "alice", .device = "setup"});
    group = CreateGroup(*owner, "crew", {"bob", "carol", "dave"});
    ASSERT_NE(group, "");
  }

  // bob's phone is online (live deliveries are part of the load); dave and everyone's second device are
  // offline, so their queues grow and are read only at the end.
  std::vector<Sender>& senders = senders_;
  senders.emplace_back("alice", group);
  senders.emplace_back("carol", group);
  for (Sender& sender : senders) ASSERT_EQ(sender.Connect(broker_->mqtt_uri()), "") << sender.user();
  int acked_so_far = 0;
  for (int round = 0; round < rounds; ++round) {
    ChatTestClient bob_phone(broker_->mqtt_uri(), "bob", "phone");
    ASSERT_EQ(bob_phone.Connect(Password("bob")), "");
    int kill_after = std::uniform_int_distribution<int>(1, 150)(random);
    auto delay = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(random));
    std::cout << "round " << round << ": kill after " << kill_after << " more chat acks + " << delay.count() << " us"
              << std::endl;
    if (before_burst) before_burst(round);
    BurstUntilKilled(senders, kill_after, delay);
    ASSERT_FALSE(broker_->running());
    int acked_now = 0;
    for (const Sender& sender : senders) acked_now += static_cast<int>(sender.acked().size());
    std::cout << "round " << round << ": " << acked_now - acked_so_far << " chat acks before the kill" << std::endl;

    Restart(senders);
    for (Sender& sender : senders) ASSERT_EQ(sender.RetryUnacknowledged(), "") << sender.user();
    for (Sender& sender : senders) {
      if (!sender.acked().empty()) {
        ASSERT_EQ(sender.RetryAcknowledged(0), "") << sender.user();
      }
    }
    acked_so_far = 0;
    for (const Sender& sender : senders) acked_so_far += static_cast<int>(sender.acked().size());
  }
  for (const Sender& sender : senders) {
    EXPECT_TRUE(sender.unexpected().empty()) << sender.user() << ": " << sender.unexpected().front();
    EXPECT_EQ(static_cast<int>(sender.acked().size()), sender.attempted()) << sender.user();
  }

  std::set<std::string> to_bob, to_group, alice_sent;
  for (const Sender& sender : senders) {
    for (const std::string& cmid : sender.Attempted(false)) to_bob.insert(cmid);
    for (const std::string& cmid : sender.Attempted(true)) to_group.insert(cmid);
  }
  std::set<std::string> bob_expected = to_bob;
  bob_expected.insert(to_group.begin(), to_group.end());
  std::set<std::string> alice_expected = senders[0].Attempted(false);
  alice_expected.insert(to_group.begin(), to_group.end());

  // Queues: devices that were never online read their user's whole queue.
  auto devices = Devices({{.user = "bob", .device = "tablet", .page_limit = 500},
                          {.user = "dave", .device = "tablet", .page_limit = 500},
                          {.user = "alice", .device = "tablet", .page_limit = 500}});
  const std::map<std::string, std::set<std::string>> expected{
      {"bob", bob_expected}, {"dave", to_group}, {"alice", alice_expected}};
  for (auto& device : devices) {
    SCOPED_TRACE(device->user() + "'s queue");
    EXPECT_EQ(device->sync_error(), "");
    EXPECT_EQ(CheckConsecutive(*device), "");
    std::vector<json> messages = device->AppliedMessages();
    EXPECT_EQ(CheckExactlyOnce(messages, expected.at(device->user())), "");
    EXPECT_EQ(CheckIncreasing(IdsOf(messages)), "") << "queue order is not id (commit) order";
    EXPECT_EQ(CheckPerSenderOrder(messages), "");
    EXPECT_EQ(CheckAckedIds(messages, senders), "");
  }

  // History, as bob reads it.
  SyncingDevice& bob = *devices[0];
  for (const Sender& sender : senders) {
    SCOPED_TRACE("history of bob and " + sender.user());
    std::vector<json> messages = WholeHistory(bob, {{"peer", sender.user()}});
    EXPECT_EQ(CheckExactlyOnce(messages, sender.Attempted(false)), "");
    EXPECT_EQ(CheckIncreasing(IdsOf(messages)), "");
    EXPECT_EQ(CheckAckedIds(messages, senders), "");
  }
  SCOPED_TRACE("group history");
  std::vector<json> group_history = WholeHistory(bob, {{"group", group}});
  EXPECT_EQ(CheckExactlyOnce(group_history, to_group), "");
  EXPECT_EQ(CheckIncreasing(IdsOf(group_history)), "");
  EXPECT_EQ(CheckAckedIds(group_history, senders), "");
}

TEST_P(CrashTest, NothingAcknowledgedIsLostAndRetriesAreStoredOnce) {
  RunKillRounds(EnvOr("CHAT_CRASH_SEED", GetParam()), "", {});
}

// Ten seeds, two kills each: twenty kill points in the test command.
INSTANTIATE_TEST_SUITE_P(KillPoints, CrashTest, ::testing::Range(1, 11));

}  // namespace
}  // namespace chat::harness

namespace chat::harness {
namespace {

// The same kills on a cluster node (docs/SCALING.md): its changes go to a JetStream stream on three
// nats-servers before they are acknowledged. Besides CrashTest's checks: one of the three replicas is
// killed with SIGKILL in the middle of the first round's burst (and started again for the next), and
// the stream holds every change once: no Nats-Msg-Id twice, and every acknowledged message in exactly
// one change, under the id its ack carried.
class ClusterCrashTest : public CrashTest {};

TEST_P(ClusterCrashTest, NothingAcknowledgedIsLostOrLoggedTwiceWhenTheNodeAndAReplicaAreKilled) {
  const int seed = EnvOr("CHAT_CRASH_SEED", GetParam());
  NatsCluster nats;
  ASSERT_EQ(nats.Start(), "");
  const int replica = seed % nats.size();
  std::thread replica_killer;
  auto before_burst = [&](int round) {
    if (round == 0) {
      replica_killer = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
        nats.server(replica).Kill();
      });
    } else {
      if (replica_killer.joinable()) replica_killer.join();
      ASSERT_EQ(nats.Start(), "");
    }
  };
  RunKillRounds(seed, nats.ClusterYaml() + "  append_retry_ms: 500\n", before_burst);
  if (replica_killer.joinable()) replica_killer.join();

  StreamReader reader(nats.urls());
  ASSERT_EQ(reader.error(), "");
  std::vector<LoggedChange> logged = reader.ReadAll("CHAT_LOG");
  ASSERT_EQ(reader.error(), "");
  std::set<std::string> msg_ids;
  std::map<std::string, int> logged_messages;  // message id -> changes holding it
  for (const LoggedChange& change : logged) {
    EXPECT_TRUE(msg_ids.insert(change.msg_id).second) << "change " << change.msg_id << " logged twice";
    core::WriteSet writes;
    ASSERT_TRUE(storage::DecodeChange(change.data, &writes).ok()) << "sequence " << change.sequence;
    EXPECT_EQ(core::FormatMessageId(writes.change_id), change.msg_id);
    for (const core::StoredMessage& message : writes.messages) ++logged_messages[core::FormatMessageId(message.id)];
  }
  std::size_t acked = 0;
  for (const Sender& sender : senders_) {
    for (const auto& [cmid, id] : sender.acked()) {
      ++acked;
      EXPECT_EQ(logged_messages[id], 1) << cmid << " (" << id << ") is in " << logged_messages[id] << " changes";
    }
  }
  std::cout << logged.size() << " changes in the stream, " << acked << " acknowledged sends" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(KillPoints, ClusterCrashTest, ::testing::Range(1, 3));

}  // namespace
}  // namespace chat::harness
