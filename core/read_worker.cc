#include "core/read_worker.h"

#include <exception>
#include <utility>

namespace chat::core {

Result<std::string> RunRead(const BackgroundRead& job, Store& store) {
  try {
    return job.read(store);
  } catch (const std::exception& e) {
    return Status::Error(ErrorCode::kInternal, e.what());
  } catch (...) {
    return Status::Error(ErrorCode::kInternal, "unknown exception");
  }
}

bool InlineReadWorker::Submit(BackgroundRead job, Outbox& outbox) {
  job.deliver(RunRead(job, store_), outbox);
  return true;
}

ThreadedReadWorker::ThreadedReadWorker(Store& store, std::size_t max_queued, std::function<void()> finished)
    : store_(store), max_queued_(max_queued), finished_(std::move(finished)), thread_([this] { Work(); }) {}

ThreadedReadWorker::~ThreadedReadWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

bool ThreadedReadWorker::Submit(BackgroundRead job, Outbox&) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A read finished but not yet delivered still counts: its result holds memory until the next TICK.
    if (stopping_ || queue_.size() + running_ + done_.size() >= max_queued_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void ThreadedReadWorker::DeliverFinished(Outbox& outbox) {
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_.empty()) return;
    done.swap(done_);
  }
  for (Done& finished : done) finished.deliver(std::move(finished.made), outbox);
}

void ThreadedReadWorker::Work() {
  while (true) {
    BackgroundRead job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      running_ = 1;
    }
    Result<std::string> made = RunRead(job, store_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_ = 0;
      done_.push_back({std::move(job.deliver), std::move(made)});
    }
    if (finished_) finished_();
  }
}

}  // namespace chat::core
