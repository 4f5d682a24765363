// ReadWorker: the threaded worker reads off the calling thread and delivers only when asked, in order;
// it refuses past its bound (a read in hand or undelivered counts); an exception in a read becomes an
// error reply, not the end of the broker; the inline worker delivers at once.
#include "core/read_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "storage/rocksdb_store.h"
#include "tests/core/recording_outbox.h"
#include "tests/core/temp_dir.h"

namespace chat::core {
namespace {

class ReadWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::move(*storage::RocksDbStore::Open(dir_.path(), Durability::kProcessCrash)); }

  // A read that returns `text`; what it delivers is appended to delivered_ (on the delivering thread).
  BackgroundRead Returning(std::string text, std::function<void()> before = nullptr) {
    BackgroundRead job;
    job.read = [text, before](Store&) -> Result<std::string> {
      if (before) before();
      return text;
    };
    job.deliver = [this](Result<std::string> made, Outbox&) {
      delivered_.push_back(made.ok() ? *made : "error: " + made.status().message());
      delivered_on_.push_back(std::this_thread::get_id());
    };
    return job;
  }
  void WaitForFinished(int count) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (finished_.load() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GE(finished_.load(), count);
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  RecordingOutbox outbox_;
  std::vector<std::string> delivered_;
  std::vector<std::thread::id> delivered_on_;
  std::atomic<int> finished_{0};
};

TEST_F(ReadWorkerTest, ThreadedReadsElsewhereAndDeliversInOrderWhenAsked) {
  std::thread::id read_on;
  ThreadedReadWorker worker(*store_, 8, [this] { ++finished_; });
  ASSERT_TRUE(worker.Submit(Returning("one", [&] { read_on = std::this_thread::get_id(); }), outbox_));
  ASSERT_TRUE(worker.Submit(Returning("two"), outbox_));
  WaitForFinished(2);
  EXPECT_TRUE(delivered_.empty());  // nothing until the broker thread asks
  EXPECT_NE(read_on, std::this_thread::get_id());
  worker.DeliverFinished(outbox_);
  EXPECT_EQ(delivered_, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(delivered_on_[0], std::this_thread::get_id());
  worker.DeliverFinished(outbox_);
  EXPECT_EQ(delivered_.size(), 2u);  // each once
}

TEST_F(ReadWorkerTest, ThreadedRefusesPastItsBoundCountingTheReadInHandAndUndeliveredOnes) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  ThreadedReadWorker worker(*store_, 2, [this] { ++finished_; });
  ASSERT_TRUE(worker.Submit(Returning("held", [&] {
                              started = true;
                              released.wait();
                            }),
                            outbox_));
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(worker.Submit(Returning("queued"), outbox_));
  EXPECT_FALSE(worker.Submit(Returning("one too many"), outbox_));
  release.set_value();
  WaitForFinished(2);
  EXPECT_FALSE(worker.Submit(Returning("still full: nothing delivered yet"), outbox_));
  worker.DeliverFinished(outbox_);
  EXPECT_EQ(delivered_, (std::vector<std::string>{"held", "queued"}));
  EXPECT_TRUE(worker.Submit(Returning("room again"), outbox_));
  WaitForFinished(3);
  worker.DeliverFinished(outbox_);
  EXPECT_EQ(delivered_.back(), "room again");
}

TEST_F(ReadWorkerTest, AnExceptionInAReadIsDeliveredAsAnError) {
  ThreadedReadWorker worker(*store_, 8, [this] { ++finished_; });
  ASSERT_TRUE(worker.Submit(Returning("", [] { throw std::runtime_error("disk on fire"); }), outbox_));
  WaitForFinished(1);
  worker.DeliverFinished(outbox_);
  EXPECT_EQ(delivered_, (std::vector<std::string>{"error: disk on fire"}));
}

TEST_F(ReadWorkerTest, StoppingFinishesTheReadInHandAndDropsTheRest) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> started{false};
  std::atomic<int> reads{0};
  std::thread later;
  {
    ThreadedReadWorker worker(*store_, 8, nullptr);
    ASSERT_TRUE(worker.Submit(Returning("held", [&] {
                                started = true;
                                released.wait();
                                ++reads;
                              }),
                              outbox_));
    while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(worker.Submit(Returning("dropped", [&] { ++reads; }), outbox_));
    later = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      release.set_value();
    });
  }  // the worker's thread ends here, after the read in hand
  later.join();
  EXPECT_EQ(reads.load(), 1);
  EXPECT_TRUE(delivered_.empty());
}

TEST_F(ReadWorkerTest, InlineDeliversAtOnce) {
  InlineReadWorker worker(*store_);
  ASSERT_TRUE(worker.Submit(Returning("now"), outbox_));
  EXPECT_EQ(delivered_, (std::vector<std::string>{"now"}));
}

}  // namespace
}  // namespace chat::core
