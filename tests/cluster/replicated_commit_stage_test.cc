// ReplicatedCommitStage under ChatService, on real RocksDB, with a log whose confirmations the test
// gives: a chat ack and the deliveries wait for the log, the store applies changes in submission order
// whatever the confirmation order, an unconfirmed append is appended again under its id, and a node
// stopped with appends unconfirmed appends them again at its next start and applies them once.
#include "cluster/replicated_commit_stage.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "core/account_service.h"
#include "storage/change_record.h"
#include "tests/core/service_fixture.h"

namespace chat::cluster {
namespace {

using core::MessageId;
using core::RequestOp;
using nlohmann::json;

// A log that keeps every append and confirms only when the test says so.
class HeldLog final : public ChangeLog {
 public:
  void SetConfirmed(Confirmed confirmed) override {
    std::lock_guard<std::mutex> lock(mutex_);
    confirmed_ = std::move(confirmed);
  }
  core::Status Append(MessageId change_id, const std::string& record) override {
    std::lock_guard<std::mutex> lock(mutex_);
    appends_.push_back({change_id, record});
    return core::Status::Ok();
  }
  std::size_t max_record_bytes() const override { return max_record_bytes_; }
  std::size_t max_record_bytes_ = 1 << 20;
  // Confirms `change_id` as the log client would: from a thread of its own.
  void Confirm(MessageId change_id, core::Status status = core::Status::Ok()) {
    Confirmed confirmed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      confirmed = confirmed_;
    }
    std::thread([&] { confirmed(change_id, status); }).join();
  }
  std::vector<std::pair<MessageId, std::string>> appends() {
    std::lock_guard<std::mutex> lock(mutex_);
    return appends_;
  }
  std::size_t AppendsOf(MessageId change_id) {
    std::size_t n = 0;
    for (const auto& append : appends()) n += append.first == change_id;
    return n;
  }

 private:
  std::mutex mutex_;
  Confirmed confirmed_;
  std::vector<std::pair<MessageId, std::string>> appends_;
};

class ReplicatedCommitStageTest : public core::ServiceFixture {
 protected:
  void SetUp() override {
    CreateUsers({"alice", "bob"});
    StartNode();
  }
  void TearDown() override {
    service_.reset();
    stage_.reset();
  }
  void StartNode(std::chrono::milliseconds retry_after = std::chrono::milliseconds(60000)) {
    service_.reset();
    stage_.reset();
    log_ = std::make_unique<HeldLog>();
    ReplicatedCommitStage::Options options;
    options.retry_after = retry_after;
    options.stop_wait = std::chrono::milliseconds(100);
    stage_ = std::make_unique<ReplicatedCommitStage>(*store_, *log_, /*finished=*/nullptr, options);
    Restart();
  }
  ReplicatedCommitStage& stage() { return static_cast<ReplicatedCommitStage&>(*stage_); }

  void Send(const std::string& cmid) {
    ASSERT_TRUE(service_->Handle(core::Caller{"alice", "alice:phone"}, RequestOp::kSend,
                                 json{{"to", "bob"}, {"text", "text " + cmid}, {"cmid", cmid}}.dump(), outbox_)
                    .ok());
    service_->OnTick(outbox_);  // the end of a loop pass: the stage may start on it
  }
  std::vector<json> Acks() const {
    std::vector<json> acks;
    for (const auto& p : outbox_.published) {
      if (p.client_id == "alice:phone" && p.payload.value("type", "") == "ack") acks.push_back(p.payload);
    }
    return acks;
  }
  void TickFor(std::chrono::milliseconds span) {
    auto until = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < until) {
      service_->OnTick(outbox_);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::size_t StoredMessages() {
    auto page = store_->ReadConversation(core::Conversation::Direct("alice", "bob"), core::HistoryQuery{});
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->messages.size() : 0;
  }
  std::size_t OutboxSize() {
    auto outbox = store_->ListLogOutbox();
    EXPECT_TRUE(outbox.ok());
    return outbox.ok() ? outbox->size() : 0;
  }
  bool WaitForAppends(std::size_t n) {
    return TickUntil([&] { return log_->appends().size() >= n; });
  }

  std::unique_ptr<HeldLog> log_;
};

TEST_F(ReplicatedCommitStageTest, AChatAckAndTheDeliveriesWaitForTheLogsConfirmation) {
  Send("c1");
  ASSERT_TRUE(WaitForAppends(1));
  TickFor(std::chrono::milliseconds(50));
  EXPECT_TRUE(outbox_.published.empty()) << "nothing before the log has the change, not even bob's copy";
  EXPECT_EQ(StoredMessages(), 0u);
  EXPECT_EQ(OutboxSize(), 1u) << "the append survives a crash of the node";

  auto [change_id, record] = log_->appends()[0];
  core::WriteSet logged;
  ASSERT_TRUE(storage::DecodeChange(record, &logged).ok());
  ASSERT_EQ(logged.messages.size(), 1u);
  EXPECT_EQ(logged.messages[0].id, change_id) << "a send is named in the log by its message id";
  EXPECT_EQ(logged.messages[0].text, "text c1");
  EXPECT_EQ(logged.change_id, change_id);

  log_->Confirm(change_id);
  ASSERT_TRUE(TickUntil([&] { return Acks().size() == 1; }));
  EXPECT_EQ(Acks()[0]["id"], core::FormatMessageId(change_id));
  EXPECT_EQ(StoredMessages(), 1u);
  EXPECT_EQ(OutboxSize(), 0u);
  bool bob_got_it = false;
  for (const auto& p : outbox_.published) bob_got_it |= p.payload.value("id", "") == core::FormatMessageId(change_id) && p.payload.value("type", "") == "message";
  EXPECT_TRUE(bob_got_it);
}

TEST_F(ReplicatedCommitStageTest, ConfirmationsInAnyOrderAreAppliedAndAcknowledgedInSubmissionOrder) {
  for (const char* cmid : {"c1", "c2", "c3"}) Send(cmid);
  ASSERT_TRUE(WaitForAppends(3));
  auto appends = log_->appends();
  log_->Confirm(appends[2].first);
  log_->Confirm(appends[1].first);
  TickFor(std::chrono::milliseconds(50));
  EXPECT_TRUE(Acks().empty()) << "the third may not be acknowledged before the first is stored";
  EXPECT_EQ(StoredMessages(), 0u);
  log_->Confirm(appends[0].first);
  ASSERT_TRUE(TickUntil([&] { return Acks().size() == 3; }));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Acks()[i]["id"], core::FormatMessageId(appends[i].first));
  EXPECT_EQ(StoredMessages(), 3u);
}

TEST_F(ReplicatedCommitStageTest, AnAppendNotConfirmedInTimeOrRefusedIsAppendedAgainUnderItsId) {
  StartNode(std::chrono::milliseconds(50));
  Send("c1");
  ASSERT_TRUE(WaitForAppends(1));
  MessageId change_id = log_->appends()[0].first;
  ASSERT_TRUE(TickUntil([&] { return log_->AppendsOf(change_id) >= 3; })) << "appended again, every 50 ms";
  log_->Confirm(change_id, core::Status::Error(core::ErrorCode::kIoError, "no quorum"));
  log_->Confirm(change_id);
  ASSERT_TRUE(TickUntil([&] { return Acks().size() == 1; }));
  // Late answers to the earlier attempts change nothing.
  log_->Confirm(change_id);
  TickFor(std::chrono::milliseconds(20));
  EXPECT_EQ(Acks().size(), 1u);
  EXPECT_EQ(StoredMessages(), 1u);
  for (const auto& append : log_->appends()) EXPECT_EQ(append.first, change_id) << "every attempt under one id";
}

TEST_F(ReplicatedCommitStageTest, ANodeStoppedWithAppendsUnconfirmedAppendsThemAtItsNextStartOnce) {
  Send("c1");
  Send("c2");
  ASSERT_TRUE(WaitForAppends(2));
  auto before = log_->appends();
  // The stop waits briefly for the log, then fails what it did not confirm: no ack was sent for them.
  service_.reset();
  stage_.reset();
  EXPECT_TRUE(Acks().empty());
  EXPECT_EQ(StoredMessages(), 0u);
  ASSERT_EQ(OutboxSize(), 2u);

  log_ = std::make_unique<HeldLog>();
  ReplicatedCommitStage::Options options;
  auto stage = std::make_unique<ReplicatedCommitStage>(*store_, *log_, nullptr, options);
  std::thread confirmer([&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (log_->appends().size() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (const auto& append : log_->appends()) log_->Confirm(append.first);
  });
  core::Status drained = stage->DrainOutbox(std::chrono::seconds(10));
  confirmer.join();
  ASSERT_TRUE(drained.ok()) << drained.ToString();
  auto again = log_->appends();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].first, before[0].first) << "the same ids: the log stores a change it had once";
  EXPECT_EQ(again[1].first, before[1].first);
  EXPECT_EQ(again[0].second, before[0].second);
  EXPECT_EQ(StoredMessages(), 2u);
  EXPECT_EQ(OutboxSize(), 0u);
  auto floor = store_->LargestMessageId();
  ASSERT_TRUE(floor.ok());
  EXPECT_GE(*floor, before[1].first) << "ids taken by the drained changes are never handed out again";

  // The retry of an unacknowledged send finds it stored: acknowledged as a duplicate, under its id.
  stage_ = std::move(stage);
  Restart();
  Send("c1");
  ASSERT_TRUE(TickUntil([&] { return Acks().size() == 1; }));
  EXPECT_EQ(Acks()[0]["id"], core::FormatMessageId(before[0].first));
  EXPECT_EQ(StoredMessages(), 2u);
}

TEST_F(ReplicatedCommitStageTest, AStartWhoseOutboxTheLogDoesNotConfirmFailsWithTheCount) {
  Send("c1");
  ASSERT_TRUE(WaitForAppends(1));
  service_.reset();
  stage_.reset();
  log_ = std::make_unique<HeldLog>();
  ReplicatedCommitStage::Options options;
  options.stop_wait = std::chrono::milliseconds(100);
  ReplicatedCommitStage stage(*store_, *log_, nullptr, options);
  core::Status drained = stage.DrainOutbox(std::chrono::milliseconds(200));
  EXPECT_FALSE(drained.ok());
  EXPECT_NE(drained.message().find("1 change"), std::string::npos) << drained.ToString();
  EXPECT_EQ(StoredMessages(), 0u);
}

TEST_F(ReplicatedCommitStageTest, WhenAWaitGivesUpOnTheLogNewWritesAreRefusedUntilItConfirmedWhatWasPending) {
  Send("c1");
  ASSERT_TRUE(WaitForAppends(1));
  MessageId first = log_->appends()[0].first;
  stage_->WaitIdle();  // as a failed write or an operator's command does: gives up after stop_wait
  auto errors = [&] {
    std::size_t n = 0;
    for (const auto& p : outbox_.published) n += p.payload.value("type", "") == "error";
    return n;
  };
  ASSERT_TRUE(TickUntil([&] { return errors() == 1; })) << "c1's request fails: no ack";
  Send("c2");
  ASSERT_TRUE(TickUntil([&] { return errors() == 2; })) << "refused: prepared without c1 in the store";
  EXPECT_EQ(log_->appends().size(), 1u) << "a refused write is not appended";

  log_->Confirm(first);  // the log had c1 after all: the node applies it
  ASSERT_TRUE(TickUntil([&] { return StoredMessages() == 1; }));
  // The broker's sequence numbers were read again after c2's failure, before c1 was stored: what it
  // prepares on them fails once more, and that failure makes it read them again, with c1 in the store.
  Send("c3");
  ASSERT_TRUE(TickUntil([&] { return errors() == 3; }));
  Send("c3");
  ASSERT_TRUE(WaitForAppends(2));
  log_->Confirm(log_->appends()[1].first);
  ASSERT_TRUE(TickUntil([&] { return Acks().size() == 1; }));
  Send("c1");  // the client's retry of the send it got no ack for: stored once, under its first id
  ASSERT_TRUE(TickUntil([&] { return Acks().size() == 2; }));
  EXPECT_EQ(Acks()[1]["id"], core::FormatMessageId(first));
  EXPECT_EQ(StoredMessages(), 2u);
}

TEST_F(ReplicatedCommitStageTest, AChangeTooLargeForTheLogFailsWithWhatFollowsItButAfterWhatCameBefore) {
  log_->max_record_bytes_ = 2000;
  Send("c1");
  ASSERT_TRUE(WaitForAppends(1));
  ASSERT_TRUE(service_->Handle(core::Caller{"alice", "alice:phone"}, RequestOp::kSend,
                               json{{"to", "bob"}, {"text", std::string(3000, 'x')}, {"cmid", "c2"}}.dump(), outbox_)
                  .ok());
  Send("c3");
  TickFor(std::chrono::milliseconds(50));
  EXPECT_TRUE(outbox_.published.empty()) << "c2's failure may not be told before c1's outcome";
  EXPECT_EQ(log_->appends().size(), 1u) << "neither c2 nor c3 (prepared on top of it) is appended";
  log_->Confirm(log_->appends()[0].first);
  auto replies = [&] {
    std::vector<std::string> got;
    for (const auto& p : outbox_.published) {
      if (p.client_id == "alice:phone") got.push_back(p.payload.value("type", "") + ":" + p.payload.value("cmid", ""));
    }
    return got;
  };
  ASSERT_TRUE(TickUntil([&] { return replies().size() == 3; }));
  EXPECT_EQ(replies(), (std::vector<std::string>{"ack:c1", "error:c2", "error:c3"}));
  EXPECT_EQ(StoredMessages(), 1u);
  EXPECT_EQ(OutboxSize(), 0u);
  Send("c4");  // the failure was handled: writes go on
  ASSERT_TRUE(WaitForAppends(2));
  log_->Confirm(log_->appends()[1].first);
  ASSERT_TRUE(TickUntil([&] { return Acks().size() == 2; }));
}

TEST_F(ReplicatedCommitStageTest, AccountChangesAreChangesInTheLogToo) {
  std::atomic<bool> done{false};
  std::thread confirmer([&] {  // the log confirms whatever it gets, as a healthy one does
    std::size_t confirmed = 0;
    while (!done) {
      auto appends = log_->appends();
      for (; confirmed < appends.size(); ++confirmed) log_->Confirm(appends[confirmed].first);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  core::AccountHooks hooks;
  hooks.commit = [&](core::WriteSet writes) { return service_->CommitAccountChange(std::move(writes), outbox_); };
  core::AuthSettings auth;
  auth.pbkdf2_iterations = 1000;
  core::AccountService accounts(*store_, clock_, auth, hooks);
  core::Status added = accounts.AddUser("carol", "pw-carol", false);
  core::Status changed = accounts.SetPassword("carol", "pw-carol-2");
  core::Status deleted = accounts.DeleteUser("carol");
  done = true;
  confirmer.join();
  ASSERT_TRUE(added.ok()) << added.ToString();
  ASSERT_TRUE(changed.ok()) << changed.ToString();
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  EXPECT_EQ(store_->UserExists("carol").code(), core::ErrorCode::kNotFound);

  std::vector<core::WriteSet> logged;
  for (const auto& append : log_->appends()) {
    ASSERT_TRUE(storage::DecodeChange(append.second, &logged.emplace_back()).ok());
  }
  ASSERT_EQ(logged.size(), 3u);
  ASSERT_EQ(logged[0].users.size(), 1u);
  EXPECT_EQ(logged[0].users[0].user_id, "carol");
  ASSERT_EQ(logged[1].users.size(), 1u) << "the new password and the revoked resume tokens: one change";
  EXPECT_NE(logged[1].users[0].password.digest, logged[0].users[0].password.digest);
  EXPECT_EQ(logged[1].resume_tokens_revoked, std::vector<std::string>{"carol"});
  EXPECT_EQ(logged[2].users_deleted, std::vector<std::string>{"carol"});
}

}  // namespace
}  // namespace chat::cluster
