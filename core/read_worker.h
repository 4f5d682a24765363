// ReadWorker: store reads too long for the broker thread (a search through the index, a push's unread
// total over every conversation of its recipient) run on a thread of their own. The broker thread hands
// one over and publishes what it made on a later TICK; it never waits for one. Store reads are
// thread-safe (the commit stage's writer reads beside the broker thread already); what a read sees is
// what was stored when it ran, which includes everything acknowledged before it was handed over.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/outbox.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

struct BackgroundRead {
  // Runs off the broker thread: reads `store` and what it captured by value, nothing the broker
  // thread changes. Returns the payload to publish, or why there is none.
  std::function<Result<std::string>(Store& store)> read;
  // Runs on the broker thread with what `read` returned (an kInternal error when it threw).
  std::function<void(Result<std::string> made, Outbox& outbox)> deliver;
};

class ReadWorker {
 public:
  virtual ~ReadWorker() = default;
  // Hands `job` over; false (nothing taken) when too many reads wait already. An implementation that
  // reads at once delivers to `outbox` before returning.
  virtual bool Submit(BackgroundRead job, Outbox& outbox) = 0;
  // Broker thread: delivers the reads finished since the last call, in the order they finished.
  virtual void DeliverFinished(Outbox& outbox) = 0;
};

// Reads and delivers at once, on the calling thread: offline tools and tests.
class InlineReadWorker final : public ReadWorker {
 public:
  explicit InlineReadWorker(Store& store) : store_(store) {}
  bool Submit(BackgroundRead job, Outbox& outbox) override;
  void DeliverFinished(Outbox&) override {}

 private:
  Store& store_;
};

// One thread of its own, reading in the order reads were handed over. `finished` is called on that
// thread after each read (the plugin wakes the broker with it, so the result goes out at once).
class ThreadedReadWorker final : public ReadWorker {
 public:
  ThreadedReadWorker(Store& store, std::size_t max_queued, std::function<void()> finished);
  ~ThreadedReadWorker() override;  // finishes the read in hand, drops the rest, joins
  ThreadedReadWorker(const ThreadedReadWorker&) = delete;
  ThreadedReadWorker& operator=(const ThreadedReadWorker&) = delete;

  bool Submit(BackgroundRead job, Outbox& outbox) override;
  void DeliverFinished(Outbox& outbox) override;

 private:
  struct Done {
    std::function<void(Result<std::string>, Outbox&)> deliver;
    Result<std::string> made;
  };
  void Work();

  Store& store_;
  std::size_t max_queued_;
  std::function<void()> finished_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<BackgroundRead> queue_;  // guarded by mutex_, as the rest below
  std::size_t running_ = 0;           // 0 or 1: a read taken from the queue and not yet done
  std::vector<Done> done_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above exists
};

// Runs `job.read` on `store`, turning an exception (which would end the broker) into an error.
Result<std::string> RunRead(const BackgroundRead& job, Store& store);

}  // namespace chat::core
