// Transaction and ServiceContext::Commit: nothing is published before the write is stored, a dropped
// or failed transaction leaves no trace (not even a sequence number), and the id floor is what the
// core states.
#include "core/transaction.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/service_context.h"
#include "storage/rocksdb_store.h"
#include "tests/core/fake_clock.h"
#include "tests/core/recording_outbox.h"
#include "tests/core/temp_dir.h"

namespace chat::core {
namespace {

class TransactionTest : public ::testing::Test {
 protected:
  TransactionTest()
      : store_(std::move(*storage::RocksDbStore::Open(dir_.path(), Durability::kProcessCrash))),
        stage_(*store_),
        reads_(*store_),
        ids_(clock_, 1, 0),
        context_(*store_, stage_, reads_, clock_, ids_, limits_) {}

  QueueEntry Event(const std::string& json) { return {QueueEntry::Kind::kEvent, {}, 0, json, clock_.NowMillis()}; }

  testing::TempDir dir_;
  FakeClock clock_;
  Limits limits_;
  std::unique_ptr<Store> store_;
  InlineCommitStage stage_;
  InlineReadWorker reads_;
  MessageIdGenerator ids_;
  ServiceContext context_;
  RecordingOutbox outbox_;
};

TEST_F(TransactionTest, PublishesInOrderOnlyOnceCommittedThenRunsTheAfterCommitActions) {
  Transaction tx(context_.seqs);
  std::vector<std::string> order;
  ASSERT_TRUE(tx.DeliverAll({"alice", "bob"}, Event(R"({"type":"e"})"), R"({"type":"e"})").ok());
  tx.Reply("alice:phone", "chat/v1/user/alice/reply", R"({"ok":true})");
  tx.Ephemeral("chat/v1/user/bob/msg", R"({"type":"typing"})");
  tx.AfterCommit([&] { order.push_back("after:" + std::to_string(outbox_.published.size())); });
  EXPECT_TRUE(outbox_.published.empty());
  EXPECT_EQ(tx.delivered_to(), (std::vector<std::string>{"alice", "bob"}));

  ASSERT_TRUE(context_.CommitNow(std::move(tx), outbox_).ok());
  ASSERT_EQ(outbox_.published.size(), 4u);
  EXPECT_EQ(outbox_.published[0].topic, "chat/v1/user/alice/msg");
  EXPECT_EQ(outbox_.published[0].payload["seq"], 1);
  EXPECT_EQ(outbox_.published[1].topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(outbox_.published[2].client_id, "alice:phone");
  EXPECT_TRUE(outbox_.published[3].ephemeral);
  EXPECT_EQ(order, (std::vector<std::string>{"after:4"}));  // after everything was published
  EXPECT_EQ(*store_->LastQueueSeq("alice"), 1u);
  EXPECT_EQ(store_->ReadQueue("bob", 0, 10)->entries.size(), 1u);
}

TEST_F(TransactionTest, ADroppedTransactionGivesItsSequenceNumbersBack) {
  {
    Transaction dropped(context_.seqs);
    ASSERT_TRUE(dropped.Deliver("alice", Event("{}"), "{}").ok());
    ASSERT_TRUE(dropped.Deliver("bob", Event("{}"), "{}").ok());
  }
  Transaction tx(context_.seqs);
  ASSERT_TRUE(tx.Deliver("alice", Event("{}"), "{}").ok());
  ASSERT_TRUE(context_.CommitNow(std::move(tx), outbox_).ok());
  ASSERT_EQ(outbox_.published.size(), 1u);
  EXPECT_EQ(outbox_.published[0].payload["seq"], 1);  // no gap where the dropped one was
  EXPECT_EQ(*store_->LastQueueSeq("bob"), 0u);
}

TEST_F(TransactionTest, RememberedSequenceNumbersAreForgottenPastTheBoundAndReadBackFromTheStore) {
  Transaction tx(context_.seqs);
  ASSERT_TRUE(tx.DeliverAll({"alice", "bob", "carol"}, Event("{}"), "{}").ok());
  ASSERT_TRUE(context_.CommitNow(std::move(tx), outbox_).ok());
  EXPECT_EQ(context_.seqs.remembered(), 3u);
  context_.seqs.ForgetAllIfOver(3);
  EXPECT_EQ(context_.seqs.remembered(), 3u) << "at the bound, kept";
  context_.seqs.ForgetAllIfOver(2);
  EXPECT_EQ(context_.seqs.remembered(), 0u);
  EXPECT_EQ(*context_.seqs.Next("bob"), 2u) << "the numbering goes on from the store";
}

TEST_F(TransactionTest, AnEmptyTransactionStoresNothingAndStillPublishes) {
  Transaction tx(context_.seqs);
  EXPECT_TRUE(tx.writes.empty());
  tx.Reply("bob:phone", "chat/v1/user/bob/reply", R"({"ok":true})");
  bool ran = false;
  tx.AfterCommit([&] { ran = true; });
  ASSERT_TRUE(context_.CommitNow(std::move(tx), outbox_).ok());
  EXPECT_EQ(outbox_.published.size(), 1u);
  EXPECT_TRUE(ran);
}

TEST_F(TransactionTest, TheIdFloorIsTheLargestIdTheTransactionTook) {
  Transaction tx(context_.seqs);
  MessageId first = context_.NewId(tx);
  MessageId second = context_.NewId(tx);
  EXPECT_LT(first, second);
  EXPECT_EQ(tx.writes.id_floor, second);
  EXPECT_FALSE(tx.writes.empty());
  ASSERT_TRUE(context_.CommitNow(std::move(tx), outbox_).ok());
  EXPECT_EQ(*store_->LargestMessageId(), second);
  // A write that takes no id leaves the floor where it was.
  Transaction other(context_.seqs);
  other.writes.last_active.push_back({"alice", 5});
  ASSERT_TRUE(context_.CommitNow(std::move(other), outbox_).ok());
  EXPECT_EQ(*store_->LargestMessageId(), second);
}

TEST_F(TransactionTest, EveryWriteListCountsAsSomethingToStore) {
  // WriteSet::empty must know every list: one left out would make its writes vanish.
  auto not_empty = [](auto fill) {
    WriteSet writes;
    fill(writes);
    return !writes.empty();
  };
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.messages.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.queue.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.groups.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.members_added.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.members_removed.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.read_positions.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.peers.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.contacts.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.last_active.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.push_tokens.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.push_jobs.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.push_jobs_done.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.mutes.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.group_accepts.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.took_part_removed.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.invites_added.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.invites_removed.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.erased_users.emplace_back(); }));
  EXPECT_TRUE(not_empty([](WriteSet& w) { w.id_floor = 1; }));
}

TEST_F(TransactionTest, TheStoreDeletesTookPartOnlyWhenTheCoreSaysSo) {
  Transaction join(context_.seqs);
  join.writes.members_added.push_back({"7", "bob", 1});
  join.writes.group_accepts.push_back({"7", "bob", 1});
  ASSERT_TRUE(context_.CommitNow(std::move(join), outbox_).ok());
  Transaction leave(context_.seqs);
  leave.writes.members_removed.push_back({"7", "bob", 0});
  ASSERT_TRUE(context_.CommitNow(std::move(leave), outbox_).ok());
  EXPECT_TRUE(store_->CheckTookPart("7", "bob").ok());
  Transaction forget(context_.seqs);
  forget.writes.took_part_removed.push_back({"7", "bob", 0});
  ASSERT_TRUE(context_.CommitNow(std::move(forget), outbox_).ok());
  EXPECT_EQ(store_->CheckTookPart("7", "bob").code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace chat::core
