// The commit pipeline: ChatService on the threaded commit stage (a writer thread of its own) over real
// RocksDB, with writes held or failed through the store interface. Replies and deliveries go out only
// after the write that carries them is stored, in commit order; a request that reads what an earlier one
// wrote waits for it; a failed write answers every request in flight with an error and stores nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/threaded_commit_stage.h"
#include "tests/core/faulty_store.h"
#include "tests/core/service_fixture.h"

namespace chat::core {
namespace {

using nlohmann::json;

class CommitPipelineTest : public ServiceFixture {
 protected:
  void SetUp() override {
    CreateUsers({"alice", "bob", "carol"});
    service_.reset();
    stage_.reset();
    faulty_ = std::make_unique<FaultyStore>(*store_);
    threaded_ = new ThreadedCommitStage(*faulty_, /*finished=*/nullptr);
    stage_.reset(threaded_);
    reads_ = std::make_unique<InlineReadWorker>(*faulty_);
    service_ = std::make_unique<ChatService>(*faulty_, *stage_, *reads_, clock_, *ids_, limits_, presence_, push_, auth_);
    // Two devices each, as the plugin's session registry would list them.
    service_->DeliverTo([](const std::string& user, std::vector<std::string>* client_ids) {
      client_ids->push_back(user + ":phone");
      client_ids->push_back(user + ":laptop");
    });
  }
  void TearDown() override {
    faulty_->Release();
    service_.reset();
    stage_.reset();  // joins the writer before the store goes
  }

  // Hands a request from `client_id` to the service without waiting for its results.
  Status Post(const std::string& user, const std::string& device, RequestOp op, const json& payload) {
    std::string client_id = user + ":" + device;
    return service_->Handle(Caller{user, client_id}, op, payload.dump(), outbox_);
  }
  // What went to `client_id`, in order.
  std::vector<json> To(const std::string& client_id) const {
    std::vector<json> got;
    for (const Published& p : outbox_.published) {
      if (p.client_id == client_id) got.push_back(p.payload);
    }
    return got;
  }
  std::size_t RepliesOfType(const std::string& type) const {
    std::size_t n = 0;
    for (const Published& p : outbox_.published) n += !p.to_device && p.payload.value("type", "") == type;
    return n;
  }

  std::unique_ptr<FaultyStore> faulty_;
  ThreadedCommitStage* threaded_ = nullptr;  // owned by stage_
};

TEST_F(CommitPipelineTest, NothingIsPublishedBeforeTheWriteIsStored) {
  faulty_->HoldWrites();
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, {{"to", "bob"}, {"text", "hi"}, {"cmid", "c1"}}).ok());
  for (int i = 0; i < 20; ++i) service_->OnTick(outbox_);
  EXPECT_TRUE(outbox_.published.empty());  // not even the ack: it would mean "stored"
  faulty_->Release();
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("ack") == 1; }));
  EXPECT_EQ(To("bob:phone").size(), 1u);
  EXPECT_EQ(To("bob:laptop").size(), 1u);
  EXPECT_EQ(To("alice:laptop").size(), 1u);
  // The sending device gets the ack, which carries the seq of its own copy, and no event besides.
  std::vector<json> to_sender = To("alice:phone");
  ASSERT_EQ(to_sender.size(), 1u);
  EXPECT_EQ(to_sender[0]["type"], "ack");
  EXPECT_EQ(to_sender[0]["seq"], 1);
  EXPECT_EQ(To("alice:laptop")[0]["seq"], 1);
}

TEST_F(CommitPipelineTest, ABurstFromSeveralDevicesIsGroupCommittedAndDeliveredInCommitOrder) {
  faulty_->HoldWrites();  // the first write waits, so everything after it queues into one batch
  constexpr int kEach = 30;
  struct Sender {
    const char* user;
    const char* device;
    const char* to;
  };
  const Sender senders[] = {{"alice", "phone", "bob"}, {"alice", "laptop", "bob"}, {"bob", "phone", "alice"},
                            {"carol", "phone", "alice"}};
  int posted = 0;
  for (int i = 0; i < kEach; ++i) {
    for (const Sender& s : senders) {
      std::string cmid = std::string(s.user) + s.device + std::to_string(i);
      ASSERT_TRUE(Post(s.user, s.device, RequestOp::kSend, {{"to", s.to}, {"text", "m"}, {"cmid", cmid}}).ok());
      ++posted;
    }
  }
  faulty_->Release();
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("ack") == static_cast<std::size_t>(posted); }));
  EXPECT_LE(threaded_->writes(), 3u) << "one write for the first request, then one or two for the rest";

  // Every device sees its user's queue in seq order without gaps, and the ids grow with seq: the order
  // in which they were committed is the order of every queue and of history.
  for (const char* user : {"alice", "bob", "carol"}) {
    Result<QueuePage> queue = store_->ReadQueue(user, 0, 1000);
    ASSERT_TRUE(queue.ok());
    MessageId last_id = 0;
    std::uint64_t expected_seq = 1;
    for (const SequencedEntry& item : queue->entries) {
      EXPECT_EQ(item.seq, expected_seq++) << user;
      EXPECT_GT(item.entry.message_id, last_id) << user;
      last_id = item.entry.message_id;
    }
    for (const char* device : {"phone", "laptop"}) {
      // What a device got live plus the acks of its own sends cover its queue in order.
      std::map<std::uint64_t, MessageId> seen;
      for (const json& p : To(std::string(user) + ":" + device)) {
        if (!p.contains("seq")) continue;
        EXPECT_TRUE(seen.emplace(p["seq"].get<std::uint64_t>(), *ParseMessageId(p["id"].get<std::string>())).second) << "seq twice";
      }
      ASSERT_EQ(seen.size(), queue->entries.size()) << user << ":" << device;
      std::size_t i = 0;
      for (const auto& [seq, id] : seen) {
        EXPECT_EQ(seq, queue->entries[i].seq);
        EXPECT_EQ(id, queue->entries[i].entry.message_id);
        ++i;
      }
    }
  }
  HistoryQuery everything;
  everything.limit = 1000;
  Result<MessagePage> history = store_->ReadConversation(Conversation::Direct("alice", "bob"), everything);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->messages.size(), static_cast<std::size_t>(3 * kEach));
}

TEST_F(CommitPipelineTest, HistoryRightAfterASendIncludesIt) {
  faulty_->HoldWrites();
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, {{"to", "bob"}, {"text", "first"}, {"cmid", "h1"}}).ok());
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kHistory, {{"peer", "bob"}, {"rid", "r1"}}).ok());
  faulty_->Release();
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("history") == 1; }));
  std::vector<json> replies = To("alice:phone");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0]["type"], "ack");  // in the order asked
  ASSERT_EQ(replies[1]["messages"].size(), 1u);
  EXPECT_EQ(replies[1]["messages"][0]["id"], replies[0]["id"]);
}

TEST_F(CommitPipelineTest, ARetryOfASendStillBeingCommittedGetsTheSameId) {
  faulty_->HoldWrites();
  json send = {{"to", "bob"}, {"text", "once"}, {"cmid", "again"}};
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, send).ok());
  ASSERT_TRUE(Post("alice", "laptop", RequestOp::kSend, send).ok());
  faulty_->Release();
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("ack") == 2; }));
  json first = To("alice:phone").at(0);
  std::vector<json> laptop = To("alice:laptop");
  json retry = laptop.back();
  EXPECT_EQ(retry["type"], "ack");
  EXPECT_EQ(retry["id"], first["id"]);
  EXPECT_EQ(retry["duplicate"], true);
  EXPECT_FALSE(first.contains("duplicate"));
  EXPECT_EQ(store_->ReadConversation(Conversation::Direct("alice", "bob"), HistoryQuery{})->messages.size(), 1u);
  EXPECT_EQ(*store_->LastQueueSeq("bob"), 1u);
}

TEST_F(CommitPipelineTest, AFailedWriteAnswersEveryRequestInItWithAnErrorAndTheNextOneIsServed) {
  faulty_->HoldWrites();
  faulty_->FailWrites(true);
  for (int i = 0; i < 5; ++i) {
    std::string cmid = "f" + std::to_string(i);
    ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, {{"to", "bob"}, {"text", "lost"}, {"cmid", cmid}}).ok());
  }
  faulty_->Release();
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("error") == 5; }));
  for (const json& reply : To("alice:phone")) {
    EXPECT_EQ(reply["type"], "error");
    EXPECT_EQ(reply["code"], "storage_error");
    EXPECT_EQ(reply["op"], "send");
    EXPECT_TRUE(reply.contains("cmid"));
  }
  EXPECT_TRUE(To("bob:phone").empty()) << "no deliveries for what was not stored";
  EXPECT_TRUE(To("alice:laptop").empty());
  EXPECT_EQ(*store_->LastQueueSeq("bob"), 0u);
  EXPECT_TRUE(store_->ReadConversation(Conversation::Direct("alice", "bob"), HistoryQuery{})->messages.empty());

  // The disk is back: the retry of a failed send is stored, as the first message, seq 1 (no gap).
  faulty_->FailWrites(false);
  outbox_.published.clear();
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, {{"to", "bob"}, {"text", "back"}, {"cmid", "f0"}}).ok());
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("ack") == 1; }));
  json ack = To("alice:phone").at(0);
  EXPECT_FALSE(ack.contains("duplicate"));
  EXPECT_EQ(ack["seq"], 1);
  ASSERT_EQ(To("bob:phone").size(), 1u);
  EXPECT_EQ(To("bob:phone")[0]["seq"], 1);
  EXPECT_EQ(store_->ReadConversation(Conversation::Direct("alice", "bob"), HistoryQuery{})->messages.size(), 1u);
}

TEST_F(CommitPipelineTest, AStoreThatCannotRecoverRefusesWritesAtOnceAndIsTriedAgainEverySecond) {
  std::vector<std::string> told;
  service_->OnStorageEvents(
      [&](const Status& failure, std::size_t requests, const Status& recovery) {
        told.push_back(failure.message() + " / " + std::to_string(requests) + " / " + recovery.message());
      },
      [&] { told.push_back("recovered"); });
  faulty_->FailWrites(true);
  faulty_->FailRecovery(true);
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, {{"to", "bob"}, {"text", "a"}, {"cmid", "a"}}).ok());
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("error") == 1; }));
  ASSERT_EQ(told, (std::vector<std::string>{"injected: no space left on device / 1 / injected: the disk is still full"}));
  int writes = faulty_->writes();
  int recoveries = faulty_->recoveries();

  // Answered at once, without a write, while the store stays unrecovered; reads go on.
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, {{"to", "bob"}, {"text", "b"}, {"cmid", "b"}}).ok());
  EXPECT_EQ(RepliesOfType("error"), 2u);
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kHistory, {{"peer", "bob"}, {"rid", "h"}}).ok());
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("history") == 1; }));
  service_->OnTick(outbox_);
  EXPECT_EQ(faulty_->writes(), writes);
  EXPECT_EQ(faulty_->recoveries(), recoveries) << "tried again within the second";

  // A second later the store is tried again; once it recovers, sends are stored.
  faulty_->FailWrites(false);
  faulty_->FailRecovery(false);
  clock_.Advance(1000);
  service_->OnTick(outbox_);
  EXPECT_EQ(faulty_->recoveries(), recoveries + 1);
  EXPECT_EQ(told.back(), "recovered");
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kSend, {{"to", "bob"}, {"text", "c"}, {"cmid", "c"}}).ok());
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("ack") == 1; }));
  EXPECT_EQ(To("bob:phone").size(), 1u);
}

TEST_F(CommitPipelineTest, ARequestThatChangesMembershipHoldsBackTheSendsAfterIt) {
  // carol creates a group with alice and posts to it at once: the post must see alice as a member.
  ASSERT_TRUE(Post("carol", "phone", RequestOp::kContactRequest, {{"user", "alice"}}).ok());
  ASSERT_TRUE(Post("alice", "phone", RequestOp::kContactAccept, {{"user", "carol"}}).ok());
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("ok") == 2; }));
  outbox_.published.clear();
  faulty_->HoldWrites();
  ASSERT_TRUE(Post("carol", "phone", RequestOp::kGroupCreate, {{"name", "g"}, {"members", {"alice"}}, {"rid", "g"}})
                  .ok());
  faulty_->Release();
  std::string group;
  ASSERT_TRUE(TickUntil([&] {
    for (const json& p : To("carol:phone")) {
      if (p.value("rid", "") == "g") group = p.value("group", "");
    }
    return !group.empty();
  }));
  outbox_.published.clear();
  faulty_->HoldWrites();
  ASSERT_TRUE(Post("carol", "phone", RequestOp::kGroupLeave, {{"group", group}, {"rid", "leave"}}).ok());
  // Sent right behind the leave, before it is stored: it must find carol gone.
  ASSERT_TRUE(Post("carol", "phone", RequestOp::kSend, {{"group", group}, {"text", "late"}, {"cmid", "late"}}).ok());
  faulty_->Release();
  ASSERT_TRUE(TickUntil([&] { return RepliesOfType("error") + RepliesOfType("ack") == 1; }));
  EXPECT_EQ(RepliesOfType("error"), 1u);
  EXPECT_EQ(RepliesOfType("ack"), 0u);
}

// The wake-up the broker gets when outcomes wait: once when they are new, then repeated every `rewake`
// while nobody takes them (a signal landing just before epoll_wait is lost), forced every tenth time,
// and no more once they are taken.
TEST_F(CommitPipelineTest, WaitingOutcomesAreAnnouncedAgainUntilTakenAndNowAndThenForced) {
  std::mutex mutex;
  std::vector<bool> calls;  // the `force` of each call
  auto announced = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return calls;
  };
  ThreadedCommitStage stage(
      *store_,
      [&](bool force) {
        std::lock_guard<std::mutex> lock(mutex);
        calls.push_back(force);
      },
      /*max_batch=*/16, std::chrono::microseconds(2000));
  WriteSet nothing;  // borrowed by the stage until its outcome is taken
  stage.Submit(nothing);
  stage.Flush();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (announced().size() < 2 * ThreadedCommitStage::kForcedRewakeEvery + 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::vector<bool> seen = announced();
  ASSERT_GE(seen.size(), 2u * ThreadedCommitStage::kForcedRewakeEvery + 1);
  EXPECT_FALSE(seen[0]) << "new outcomes: the receiver may skip the wake-up";
  for (std::size_t i = 1; i <= 2u * ThreadedCommitStage::kForcedRewakeEvery; ++i) {
    EXPECT_EQ(seen[i], i % ThreadedCommitStage::kForcedRewakeEvery == 0) << "repeat " << i;
  }
  std::vector<CommitOutcome> done;
  stage.TakeFinished(&done);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok());
  std::size_t after_taking = announced().size();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // 25 rewake periods
  EXPECT_LE(announced().size(), after_taking + 1) << "announced again after the outcomes were taken";
}

}  // namespace
}  // namespace chat::core
