// CommitOrderTest: the commit pipeline's rules, seen from real clients of the real broker. Sends are
// prepared on the broker thread and stored by a writer thread in group commits; still, every queue and
// every conversation's history keeps commit order, a request that reads comes after the writes before it,
// a retry of a send that is still being stored gets the same id, and a write that fails (here a full disk,
// made with a file size limit on the broker process) answers every request in it with an error, delivers
// none of them, leaves nothing half-written, and the broker serves on and takes writes again once there
// is room, without a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/integration/broker_fixture.h"

namespace chat::harness {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

json SendRequest(const std::string& to, const std::string& text, const std::string& cmid) {
  return {{"to", to}, {"text", text}, {"cmid", cmid}};
}

bool IsReply(const Received& r) { return r.topic.ends_with("/reply") && r.json.is_object(); }
bool IsMessageEvent(const Received& r) { return r.json.is_object() && r.json.value("type", "") == "message"; }

// The replies `client` gets within `timeout`, keyed by cmid, until there is one for each of `cmids`.
std::map<std::string, json> RepliesByCmid(ChatTestClient& client, const std::set<std::string>& cmids,
                                          milliseconds timeout = seconds(20)) {
  std::map<std::string, json> replies;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (replies.size() < cmids.size() && std::chrono::steady_clock::now() < deadline) {
    if (auto reply = client.WaitFor(IsReply, milliseconds(200))) {
      std::string cmid = reply->json.value("cmid", "");
      if (cmids.count(cmid)) replies[cmid] = reply->json;
    }
  }
  return replies;
}

// The message events `client` receives until it has `count` (or the time is up), in arrival order.
std::vector<json> MessageEvents(ChatTestClient& client, std::size_t count, milliseconds timeout = seconds(20)) {
  std::vector<json> events;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (events.size() < count && std::chrono::steady_clock::now() < deadline) {
    if (auto event = client.WaitFor(IsMessageEvent, milliseconds(200))) events.push_back(event->json);
  }
  return events;
}

// A history page of `peer`, oldest first.
std::vector<json> History(ChatTestClient& client, const std::string& peer, const std::string& rid) {
  client.PublishNoWait("chat/v1/req/history",
                       json{{"rid", rid}, {"peer", peer}, {"order", "oldest_first"}, {"limit", 200}}.dump());
  auto reply = client.WaitFor([&](const Received& r) { return r.json.is_object() && r.json.value("rid", "") == rid; });
  if (!reply || reply->json.value("type", "") != "history") return {};
  return reply->json["messages"].get<std::vector<json>>();
}

class CommitOrderTest : public BrokerFixture {};

TEST_F(CommitOrderTest, ABurstFromSeveralDevicesLandsInCommitOrderInEveryQueueAndInHistory) {
  StartBroker({"alice", "bob", "carol"});
  // Two devices of bob and one of carol receive; alice's phone and tablet and carol send, all at once.
  auto bob_phone = Device("bob", "phone");
  auto bob_laptop = Device("bob", "laptop");
  auto alice_phone = Device("alice", "phone");
  auto alice_tablet = Device("alice", "tablet");
  auto carol = Device("carol", "phone");
  constexpr int kPerDevice = 40;
  struct Sender {
    ChatTestClient* client;
    std::string tag;
    std::set<std::string>* cmids;  // of the user
  };
  std::set<std::string> alice_cmids, carol_cmids;
  const std::vector<Sender> senders = {
      {alice_phone.get(), "ap", &alice_cmids}, {alice_tablet.get(), "at", &alice_cmids}, {carol.get(), "cp", &carol_cmids}};
  for (int n = 0; n < kPerDevice; ++n) {
    for (const Sender& sender : senders) {
      std::string cmid = sender.tag + "-" + std::to_string(n);
      sender.cmids->insert(cmid);
      ASSERT_TRUE(sender.client->PublishNoWait("chat/v1/req/send", SendRequest("bob", cmid, cmid).dump()));
    }
  }
  std::map<std::string, json> acks;
  for (const Sender& sender : senders) {
    std::set<std::string> mine;
    for (int n = 0; n < kPerDevice; ++n) mine.insert(sender.tag + "-" + std::to_string(n));
    std::map<std::string, json> replies = RepliesByCmid(*sender.client, mine);
    ASSERT_EQ(replies.size(), mine.size()) << sender.tag;
    for (const auto& [cmid, reply] : replies) {
      ASSERT_EQ(reply.value("type", ""), "ack") << reply.dump();
      acks[cmid] = reply;
    }
  }
  const std::size_t total = alice_cmids.size() + carol_cmids.size();

  // Both of bob's devices see every message once, in the same order, with seqs 1 apart and ids growing
  // per conversation: the order the messages were stored in.
  std::vector<json> on_phone = MessageEvents(*bob_phone, total);
  std::vector<json> on_laptop = MessageEvents(*bob_laptop, total);
  ASSERT_EQ(on_phone.size(), total);
  ASSERT_EQ(on_laptop.size(), total);
  std::map<std::string, std::string> last_id_from;  // sender -> last id seen
  for (std::size_t i = 0; i < total; ++i) {
    EXPECT_EQ(on_phone[i]["cmid"], on_laptop[i]["cmid"]) << "event " << i;
    EXPECT_EQ(on_phone[i]["seq"], on_laptop[i]["seq"]) << "event " << i;
    if (i > 0) {
      EXPECT_EQ(on_phone[i]["seq"].get<std::uint64_t>(), on_phone[i - 1]["seq"].get<std::uint64_t>() + 1);
    }
    std::string from = on_phone[i]["from"], id = on_phone[i]["id"];
    EXPECT_EQ(id, acks[on_phone[i]["cmid"]]["id"]) << "the event carries the id the sender was acked with";
    if (last_id_from.count(from)) {
      EXPECT_LT(std::stoull(last_id_from[from]), std::stoull(id)) << "ids grow within a conversation";
    }
    last_id_from[from] = id;
  }

  // alice's two devices share one queue: their acks' seqs are all different, and each device saw the
  // other's sends as events with those same seqs.
  std::set<std::uint64_t> alice_seqs;
  for (const std::string& cmid : alice_cmids) alice_seqs.insert(acks[cmid]["seq"].get<std::uint64_t>());
  EXPECT_EQ(alice_seqs.size(), alice_cmids.size());

  // History is the same order as bob's queue, per conversation.
  for (std::string peer : {"alice", "carol"}) {
    std::vector<json> history = History(*bob_phone, peer, std::string("h-") + peer);
    std::vector<std::string> queued;
    for (const json& event : on_phone) {
      if (event["from"] == peer) queued.push_back(event["cmid"]);
    }
    ASSERT_EQ(history.size(), queued.size()) << peer;
    for (std::size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i]["cmid"], queued[i]) << peer << " " << i;
  }
}

TEST_F(CommitOrderTest, HistoryAskedRightAfterASendIncludesIt) {
  StartBroker({"alice", "bob"});
  auto alice = Device("alice", "phone");
  for (int round = 0; round < 5; ++round) {
    // The history request follows the send on the same connection without waiting for its chat ack.
    std::string cmid = "right-after-" + std::to_string(round);
    ASSERT_TRUE(alice->PublishNoWait("chat/v1/req/send", SendRequest("bob", cmid, cmid).dump()));
    std::vector<json> history = History(*alice, "bob", "h" + std::to_string(round));
    ASSERT_EQ(history.size(), static_cast<std::size_t>(round + 1)) << "round " << round;
    EXPECT_EQ(history.back()["cmid"], cmid);
  }
}

TEST_F(CommitOrderTest, ARetryOfASendStillBeingStoredGetsTheSameIdAndIsDeliveredOnce) {
  StartBroker({"alice", "bob"});
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  // Each cmid three times back to back: the copies arrive while the first is still with the writer
  // (or, at worst, just after it was stored; the answer must be the same either way).
  for (int n = 0; n < 20; ++n) {
    std::string cmid = "twice-" + std::to_string(n);
    for (int copy = 0; copy < 3; ++copy) {
      ASSERT_TRUE(alice->PublishNoWait("chat/v1/req/send", SendRequest("bob", cmid, cmid).dump()));
    }
  }
  std::map<std::string, std::vector<json>> acks;
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  std::size_t received = 0;
  while (received < 60 && std::chrono::steady_clock::now() < deadline) {
    if (auto reply = alice->WaitFor(IsReply, milliseconds(200))) {
      acks[reply->json.value("cmid", "")].push_back(reply->json);
      ++received;
    }
  }
  ASSERT_EQ(received, 60u);
  for (const auto& [cmid, replies] : acks) {
    ASSERT_EQ(replies.size(), 3u) << cmid;
    int originals = 0;
    for (const json& reply : replies) {
      ASSERT_EQ(reply.value("type", ""), "ack") << reply.dump();
      EXPECT_EQ(reply["id"], replies[0]["id"]) << cmid;
      originals += !reply.value("duplicate", false);
    }
    EXPECT_EQ(originals, 1) << cmid << ": one ack is the send's own, the others say duplicate";
  }
  std::vector<json> events = MessageEvents(*bob, 20);
  EXPECT_EQ(events.size(), 20u);
  std::vector<Received> more = bob->Collect(milliseconds(500));
  EXPECT_EQ(std::count_if(more.begin(), more.end(), IsMessageEvent), 0) << "a retry was delivered again";
  EXPECT_EQ(History(*bob, "alice", "all").size(), 20u);
}

// The size of the largest file in `dir` (the RocksDB log grows with every write).
std::uint64_t LargestFile(const std::string& dir) {
  std::uint64_t largest = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) largest = std::max<std::uint64_t>(largest, entry.file_size());
  }
  return largest;
}

TEST_F(CommitOrderTest, AFailedLogWriteFailsItsSendsDeliversNoneAndTheStoreIsReopenedWithoutARestart) {
  StartBroker({"alice", "bob"});
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  ASSERT_GE(alice->Send("bob", "before the failure", "before"), 0);
  ASSERT_TRUE(alice->WaitForType("ack"));
  ASSERT_EQ(MessageEvents(*bob, 1).size(), 1u);

  // A write that crosses a file size limit fails in the middle of RocksDB's log (EFBIG, an I/O error
  // RocksDB sees as ENOSPC or EIO), leaving a torn record; RocksDB then refuses every write until it is
  // opened again. The limit is per file, so the reopened store's new log has room at once.
  ASSERT_EQ(broker_->LimitFileSize(LargestFile(broker_->data_dir()) + 16384 + 1001), "");
  const std::string text(4000, 'x');
  std::vector<std::string> acked, failed;
  for (int n = 0; n < 60 && failed.empty(); ++n) {
    std::string cmid = "fill-" + std::to_string(n);
    ASSERT_TRUE(alice->PublishNoWait("chat/v1/req/send", SendRequest("bob", text, cmid).dump()));
    auto reply = alice->WaitFor([&](const Received& r) { return IsReply(r) && r.json.value("cmid", "") == cmid; },
                                seconds(10));
    ASSERT_TRUE(reply) << cmid << "\n" << broker_->log();
    if (reply->json.value("type", "") == "ack") {
      acked.push_back(cmid);
    } else {
      EXPECT_EQ(reply->json.value("code", ""), "storage_error") << reply->json.dump();
      failed.push_back(cmid);
    }
  }
  ASSERT_EQ(failed.size(), 1u) << "the log never reached the limit";
  std::vector<json> events = MessageEvents(*bob, acked.size());
  ASSERT_EQ(events.size(), acked.size());
  std::vector<Received> extra = bob->Collect(milliseconds(500));
  EXPECT_EQ(std::count_if(extra.begin(), extra.end(), IsMessageEvent), 0) << "the failed send was delivered";

  // The store is reopened (at once, or on one of the tries a second apart): the failed send, retried
  // with its cmid as a client does until it has a chat ack, is stored once and delivered.
  std::optional<Received> retried;
  auto deadline = std::chrono::steady_clock::now() + seconds(15);
  do {
    ASSERT_TRUE(alice->PublishNoWait("chat/v1/req/send", SendRequest("bob", text, failed[0]).dump()));
    retried = alice->WaitFor([&](const Received& r) { return IsReply(r) && r.json.value("cmid", "") == failed[0]; },
                             seconds(10));
    ASSERT_TRUE(retried);
    if (retried->json.value("type", "") == "ack") break;
    std::this_thread::sleep_for(milliseconds(250));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(retried->json.value("type", ""), "ack") << retried->json.dump() << "\n" << broker_->log();
  EXPECT_FALSE(retried->json.value("duplicate", false)) << "the failed send was stored after all";
  EXPECT_TRUE(bob->WaitFor([&](const Received& r) { return IsMessageEvent(r) && r.json["cmid"] == failed[0]; }));
  std::vector<json> history = History(*bob, "alice", "after-reopen");
  ASSERT_EQ(history.size(), acked.size() + 2);

  // Everything acknowledged survives a restart, once and in order; the torn record is gone.
  ASSERT_EQ(broker_->LimitFileSize(std::nullopt), "");
  ASSERT_EQ(broker_->Stop(), 0);
  ASSERT_EQ(broker_->Start(), "");
  auto reader = Device("bob", "laptop");
  std::vector<json> after = History(*reader, "alice", "after-restart");
  ASSERT_EQ(after.size(), acked.size() + 2);
  EXPECT_EQ(after[0]["cmid"], "before");
  for (std::size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(after[i + 1]["cmid"], acked[i]);
  EXPECT_EQ(after.back()["cmid"], failed[0]);
}

TEST_F(CommitOrderTest, ADiskBelowItsFreeSpaceRefusesWritesAtOnceAndTheBrokerServesOn) {
  // More free space than any disk has: the store refuses every write before RocksDB sees it.
  StartBroker({"alice", "bob"}, "min_free_disk_mb: 1048576\n");
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  std::set<std::string> refused;
  for (int n = 0; n < 5; ++n) {
    std::string cmid = "full-" + std::to_string(n);
    refused.insert(cmid);
    ASSERT_TRUE(alice->PublishNoWait("chat/v1/req/send", SendRequest("bob", cmid, cmid).dump()));
  }
  std::map<std::string, json> errors = RepliesByCmid(*alice, refused);
  ASSERT_EQ(errors.size(), refused.size());
  for (const auto& [cmid, reply] : errors) {
    EXPECT_EQ(reply.value("type", ""), "error") << reply.dump();
    EXPECT_EQ(reply.value("code", ""), "storage_error") << reply.dump();
  }
  std::vector<Received> meanwhile = bob->Collect(milliseconds(500));
  EXPECT_EQ(std::count_if(meanwhile.begin(), meanwhile.end(), IsMessageEvent), 0) << "a refused send was delivered";
  // Reads and logins go on; the operator is told why.
  EXPECT_TRUE(History(*bob, "alice", "while-full").empty());
  auto tablet = Device("bob", "tablet");
  EXPECT_TRUE(tablet->connected());
  ASSERT_EQ(broker_->Stop(), 0);  // its log to stdout (a file here) is written out when it stops
  EXPECT_NE(broker_->log().find("writes need 1048576 MB (min_free_disk_mb)"), std::string::npos) << broker_->log();
}

}  // namespace
}  // namespace chat::harness
