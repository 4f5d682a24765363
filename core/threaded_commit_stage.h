// ThreadedCommitStage: the commit stage on a writer thread of its own, so that no write (and no fsync in
// power_loss mode) runs on the broker thread. Whatever queued while the previous write ran is stored
// with one Store::ApplyAll, one RocksDB write: the more requests arrive, the fewer writes each costs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "core/commit_stage.h"

namespace chat::core {

class ThreadedCommitStage final : public CommitStage {
 public:
  // `store` is borrowed; its ApplyAll runs on the writer thread while the broker thread reads it
  // (RocksDB allows that). `finished` runs on the writer thread when outcomes are ready, and again every
  // `rewake` while they stay untaken (a wake-up can be lost: see docs/PERFORMANCE.md); it must do no
  // more than wake the thread that calls TakeFinished.
  ThreadedCommitStage(Store& store, std::function<void()> finished, std::size_t max_batch = 1024,
                      std::chrono::microseconds rewake = std::chrono::milliseconds(1));
  // Stores everything submitted, then joins the writer.
  ~ThreadedCommitStage() override;

  std::uint64_t Submit(WriteSet writes) override;
  void TakeFinished(std::vector<CommitOutcome>* done) override;
  void WaitIdle() override;
  void Recover() override;

  // Writes made so far (each one batch), for tests and metrics.
  std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }

 private:
  struct Submission {
    std::uint64_t ticket = 0;
    WriteSet writes;
  };
  void Run();
  // Moves the next batch out of the queue (lock held): up to max_batch_ submissions, except that one
  // which erases accounts is stored alone, since storing it reads what is stored before it.
  void TakeBatch(std::vector<Submission>* batch);

  Store& store_;
  std::function<void()> finished_callback_;
  const std::size_t max_batch_;
  const std::chrono::microseconds rewake_;

  std::mutex mutex_;
  std::condition_variable work_;  // the writer waits for submissions
  std::condition_variable idle_;  // WaitIdle waits for outcomes
  std::deque<Submission> queue_;
  std::vector<CommitOutcome> finished_;
  std::atomic<bool> has_finished_{false};  // read without the lock on every TICK
  std::atomic<std::uint64_t> writes_{0};
  std::uint64_t last_ticket_ = 0;
  std::uint64_t last_done_ = 0;  // every ticket up to here has an outcome
  bool failed_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace chat::core
