// SearchService's hand-over to the read worker (the matching itself is tested with the real broker in
// tests/integration/search_test.cc): the reply comes when the worker has read, a user has at most two
// searches running, and a full worker answers busy.
#include "core/search_service.h"

#include <gtest/gtest.h>

#include "tests/core/service_fixture.h"

namespace chat::core {
namespace {

using nlohmann::json;

// Keeps what it is handed until Release, as a worker thread that has not got to it yet would.
class HeldReadWorker final : public ReadWorker {
 public:
  explicit HeldReadWorker(Store& store, std::size_t capacity) : store_(store), capacity_(capacity) {}
  bool Submit(BackgroundRead job, Outbox&) override {
    if (held_.size() >= capacity_) return false;
    held_.push_back(std::move(job));
    return true;
  }
  void DeliverFinished(Outbox&) override {}
  void Release(Outbox& outbox) {
    std::vector<BackgroundRead> jobs;
    jobs.swap(held_);
    for (BackgroundRead& job : jobs) job.deliver(RunRead(job, store_), outbox);
  }
  std::size_t held() const { return held_.size(); }

 private:
  Store& store_;
  std::size_t capacity_;
  std::vector<BackgroundRead> held_;
};

class SearchServiceTest : public ServiceFixture {
 protected:
  void SetUp() override {
    CreateUsers({"alice", "bob", "carol"});
    service_.reset();
    auto held = std::make_unique<HeldReadWorker>(*store_, 3);
    held_ = held.get();
    reads_ = std::move(held);
    Restart();
    ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "hello there"}}).ok());
  }
  Status Search(const char* user, const char* rid) {
    return Request(user, RequestOp::kSearch, json{{"q", "hello"}, {"rid", rid}});
  }
  std::vector<json> Replies() {
    std::vector<json> replies;
    for (const Published& p : outbox_.published) replies.push_back(p.payload);
    return replies;
  }

  HeldReadWorker* held_ = nullptr;
};

TEST_F(SearchServiceTest, TheReplyComesWhenTheWorkerHasRead) {
  ASSERT_TRUE(Search("bob", "s1").ok());
  EXPECT_TRUE(outbox_.published.empty());
  ASSERT_EQ(held_->held(), 1u);
  held_->Release(outbox_);
  std::vector<json> replies = Replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0]["type"], "search");
  EXPECT_EQ(replies[0]["rid"], "s1");
  ASSERT_EQ(replies[0]["hits"].size(), 1u);
  EXPECT_EQ(replies[0]["hits"][0]["text"], "hello there");
  EXPECT_EQ(outbox_.published[0].client_id, "bob:phone");
  EXPECT_EQ(outbox_.published[0].topic, "chat/v1/user/bob/reply");
}

TEST_F(SearchServiceTest, AUserHasAtMostTwoSearchesRunning) {
  ASSERT_TRUE(Search("bob", "s1").ok());
  ASSERT_TRUE(Search("bob", "s2").ok());
  EXPECT_EQ(Search("bob", "s3").code(), ErrorCode::kBusy);
  std::vector<json> refused = Replies();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["code"], "busy");
  EXPECT_EQ(refused[0]["rid"], "s3");
  // Someone else's search is not held up by bob's.
  ASSERT_TRUE(Search("alice", "a1").ok());
  outbox_.published.clear();
  held_->Release(outbox_);
  EXPECT_EQ(Replies().size(), 3u);
  EXPECT_TRUE(Search("bob", "s4").ok());  // answered: room again
}

TEST_F(SearchServiceTest, AFullWorkerAnswersBusy) {
  ASSERT_TRUE(Search("bob", "b1").ok());
  ASSERT_TRUE(Search("alice", "a1").ok());
  ASSERT_TRUE(Search("carol", "c1").ok());
  EXPECT_EQ(Search("carol", "c2").code(), ErrorCode::kBusy);
  EXPECT_EQ(Replies()[0]["code"], "busy");
  held_->Release(outbox_);
  EXPECT_TRUE(Search("carol", "c3").ok());  // the refused one did not count as running
  EXPECT_TRUE(Search("carol", "c4").ok());
}

TEST_F(SearchServiceTest, ABadQueryIsRefusedAtOnceWithoutTheWorker) {
  EXPECT_EQ(Request("bob", RequestOp::kSearch, json{{"q", "  "}}).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(Request("bob", RequestOp::kSearch, json{{"q", "x"}, {"group", "999"}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(held_->held(), 0u);
}

}  // namespace
}  // namespace chat::core
