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
  // How the writer tells the thread that calls TakeFinished that outcomes wait. It is called when they
  // are new and again every `rewake` while they stay untaken (a wake-up can be lost: see
  // docs/PERFORMANCE.md); `force` is false then (the receiver may skip the wake-up when it knows that
  // thread will look anyway) except on every kForcedRewakeEvery-th repeat, in case what the receiver
  // knows is wrong. It runs on the writer thread and must do no more than wake.
  using Finished = std::function<void(bool force)>;
  static constexpr int kForcedRewakeEvery = 10;

  // `store` is borrowed; its ApplyAll runs on the writer thread while the broker thread reads it
  // (RocksDB allows that).
  ThreadedCommitStage(Store& store, Finished finished, std::size_t max_batch = 1024,
                      std::chrono::microseconds rewake = std::chrono::microseconds(100));
  // Stores everything submitted (its write sets must still be there), then joins the writer.
  ~ThreadedCommitStage() override;

  std::uint64_t Submit(const WriteSet& writes) override;
  void Flush() override;
  void TakeFinished(std::vector<CommitOutcome>* done) override;
  void WaitIdle() override;
  void Recover() override;

  // Writes made so far (each one batch), for tests and metrics.
  std::uint64_t writes() const { return batches_.value(); }
  // chat_commit_batches_total, chat_commit_submissions_total, chat_commit_queue_depth and the
  // chat_commit_write_seconds histogram (one batch's Store::ApplyAll).
  void Describe(MetricSamples& samples) const override;

 private:
  struct Submission {
    std::uint64_t ticket = 0;
    const WriteSet* writes = nullptr;  // borrowed (see CommitStage::Submit)
  };
  void Run();
  // Moves the next batch out of the queue (lock held): up to max_batch_ submissions, except that one
  // which erases accounts is stored alone, since storing it reads what is stored before it.
  void TakeBatch(std::vector<Submission>* batch);

  Store& store_;
  Finished finished_callback_;
  const std::size_t max_batch_;
  const std::chrono::microseconds rewake_;

  std::mutex mutex_;
  std::condition_variable work_;  // the writer waits for submissions
  std::condition_variable idle_;  // WaitIdle waits for outcomes
  std::deque<Submission> queue_;
  std::vector<CommitOutcome> finished_;
  // Read without the lock on every TICK. Sequentially consistent, as the broker's "busy" flag its
  // waker reads (plugins/broker_waker.h): of the broker clearing that flag and then reading this, and
  // the writer setting this and then reading the flag, at least one sees the other's write.
  std::atomic<bool> has_finished_{false};
  bool unflushed_ = false;  // submissions since the last Flush (broker thread only)
  // Metrics: written by the writer thread, except submitted_ (the broker thread's).
  Counter batches_;
  Counter stored_;
  LatencyHistogram write_latency_;
  Counter submitted_;
  Counter done_;
  int rewakes_ = 0;  // repeats of the wake-up for the outcomes waiting now (writer thread only)
  std::uint64_t last_ticket_ = 0;
  std::uint64_t last_done_ = 0;  // every ticket up to here has an outcome
  bool failed_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace chat::core
