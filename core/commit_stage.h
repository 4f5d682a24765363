// CommitStage: where prepared writes become durable. The broker thread prepares a request (checks it,
// assigns its ids and sequence numbers) and submits its WriteSet here; the stage stores submissions in
// submission order and reports each outcome; only then are the request's deliveries and reply published
// (ServiceContext). The local stage is RocksDB; a replicated log is another implementation of the same
// five calls.
#pragma once

#include <cstdint>
#include <vector>

#include "core/metrics.h"
#include "core/records.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

struct CommitOutcome {
  std::uint64_t ticket = 0;
  Status status;
};

// Submit, Flush, TakeFinished, WaitIdle and Recover are called from one thread (the broker thread).
class CommitStage {
 public:
  virtual ~CommitStage() = default;
  // Queues `writes` to be stored after everything submitted before; returns its ticket (> 0, increasing).
  // `writes` is borrowed, unchanged, until its outcome has been taken: the thread that made it frees
  // it too (memory freed by another thread is slow to reuse in glibc's allocator, and a send's write
  // set is a dozen allocations).
  virtual std::uint64_t Submit(const WriteSet& writes) = 0;
  // Lets what was submitted since the last Flush be stored now. The broker thread calls it at the end
  // of each loop pass (TICK), so that one wake-up of a writer and one batch cover everything the pass
  // submitted, however many requests it handled; a stage may start on submissions before it.
  virtual void Flush() = 0;
  // Appends the outcomes finished since the last call to `done`, in ticket order.
  virtual void TakeFinished(std::vector<CommitOutcome>* done) = 0;
  // Blocks until every submission so far has an outcome (rare work only: admin commands, a failure).
  virtual void WaitIdle() = 0;
  // After a failed write every later submission fails too, without being tried, because it was
  // prepared on top of the failed one (its sequence numbers follow the lost ones). Recover, called once
  // the failure has been handled and nothing is in flight, lets new submissions be stored again.
  virtual void Recover() = 0;
  // Appends the stage's metrics (any thread may call it); none by default.
  virtual void Describe(MetricSamples& /*samples*/) const {}
  // Whether submissions go to a replicated log, which names each by its WriteSet::change_id.
  virtual bool NamesChanges() const { return false; }
};

// Stores each submission as it arrives, on the calling thread: offline tools (chatctl) and tests.
class InlineCommitStage final : public CommitStage {
 public:
  explicit InlineCommitStage(Store& store) : store_(store) {}
  std::uint64_t Submit(const WriteSet& writes) override;
  void TakeFinished(std::vector<CommitOutcome>* done) override;
  void Flush() override {}
  void WaitIdle() override {}
  void Recover() override { failed_ = false; }

 private:
  Store& store_;
  std::uint64_t last_ticket_ = 0;
  bool failed_ = false;
  std::vector<CommitOutcome> finished_;
};

}  // namespace chat::core
