#include "core/threaded_commit_stage.h"

#include <algorithm>
#include <iterator>

namespace chat::core {

ThreadedCommitStage::ThreadedCommitStage(Store& store, Finished finished, std::size_t max_batch,
                                         std::chrono::microseconds rewake)
    : store_(store),
      finished_callback_(std::move(finished)),
      max_batch_(std::max<std::size_t>(max_batch, 1)),
      rewake_(rewake),
      writer_([this] { Run(); }) {}

ThreadedCommitStage::~ThreadedCommitStage() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_.notify_one();
  writer_.join();
}

std::uint64_t ThreadedCommitStage::Submit(const WriteSet& writes) {
  std::uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ticket = ++last_ticket_;
    queue_.push_back({ticket, &writes});
  }
  submitted_.Add();
  unflushed_ = true;  // the writer is woken once per loop pass, by Flush, not per submission
  return ticket;
}

void ThreadedCommitStage::Flush() {
  if (!unflushed_) return;
  unflushed_ = false;
  work_.notify_one();  // no system call while the writer is busy: nobody waits then
}

void ThreadedCommitStage::TakeFinished(std::vector<CommitOutcome>* done) {
  if (!has_finished_.load()) return;  // the common case on a TICK
  std::lock_guard<std::mutex> lock(mutex_);
  std::move(finished_.begin(), finished_.end(), std::back_inserter(*done));
  finished_.clear();
  has_finished_.store(false);
}

void ThreadedCommitStage::WaitIdle() {
  Flush();
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return last_done_ == last_ticket_; });
}

void ThreadedCommitStage::Recover() {
  std::lock_guard<std::mutex> lock(mutex_);
  failed_ = false;
}

void ThreadedCommitStage::TakeBatch(std::vector<Submission>* batch) {
  auto erases = [](const Submission& s) { return !s.writes->erased_users.empty(); };
  std::size_t count = 0;
  while (count < queue_.size() && count < max_batch_) {
    if (erases(queue_[count])) {
      if (count == 0) count = 1;
      break;
    }
    ++count;
  }
  std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count), std::back_inserter(*batch));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count));
}

void ThreadedCommitStage::Run() {
  std::vector<Submission> batch;
  std::vector<const WriteSet*> sets;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (queue_.empty()) {
      if (stopping_) return;
      auto has_work = [this] { return stopping_ || !queue_.empty(); };
      if (has_finished_.load()) {
        // Outcomes nobody took yet: the wake-up may have come just before the broker went to sleep.
        if (!work_.wait_for(lock, rewake_, has_work) && has_finished_.load()) {
          bool force = ++rewakes_ % kForcedRewakeEvery == 0;
          lock.unlock();
          if (finished_callback_) finished_callback_(force);
          lock.lock();
        }
      } else {
        rewakes_ = 0;
        work_.wait(lock, has_work);
      }
      continue;
    }
    TakeBatch(&batch);
    bool doomed = failed_;
    lock.unlock();
    Status status;
    if (doomed) {
      status = Status::Error(ErrorCode::kIoError, "not stored: an earlier write failed");
    } else {
      sets.clear();
      for (const Submission& submission : batch) sets.push_back(submission.writes);
      auto start = std::chrono::steady_clock::now();
      status = store_.ApplyAll(sets);
      write_latency_.Observe(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()));
      batches_.Add();
      if (status.ok()) stored_.Add(batch.size());
    }
    done_.Add(batch.size());
    lock.lock();
    if (!status.ok()) failed_ = true;
    for (const Submission& submission : batch) finished_.push_back({submission.ticket, status});
    last_done_ = batch.back().ticket;
    batch.clear();
    // Outcomes already waiting were announced: the broker takes these with them.
    bool announced = has_finished_.exchange(true);
    if (!announced) rewakes_ = 0;
    idle_.notify_all();
    if (announced || !finished_callback_) continue;
    lock.unlock();
    finished_callback_(/*force=*/false);
    lock.lock();
  }
}

void ThreadedCommitStage::Describe(MetricSamples& samples) const {
  samples.Add("chat_commit_batches_total", "Writes of the commit stage (one batch of requests each).",
              MetricType::kCounter, static_cast<double>(batches_.value()));
  samples.Add("chat_commit_submissions_total", "Requests' writes stored by the commit stage.", MetricType::kCounter,
              static_cast<double>(stored_.value()));
  // Read done before submitted: a submission finishing in between cannot make the depth negative.
  std::uint64_t done = done_.value();
  std::uint64_t submitted = submitted_.value();
  samples.Add("chat_commit_queue_depth", "Submissions waiting to be stored or being stored.", MetricType::kGauge,
              static_cast<double>(submitted >= done ? submitted - done : 0));
  samples.AddHistogram("chat_commit_write_seconds", "Time one batch of the commit stage takes to store.",
                       write_latency_);
}

}  // namespace chat::core
