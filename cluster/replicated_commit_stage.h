// ReplicatedCommitStage: the commit stage of a cluster node. A change is durable once the replicated log
// (ChangeLog: JetStream, three replicas) has it; the node's own store applies it after that, and only
// then is its outcome reported, so a chat ack always names a change the log holds.
//
// On the log thread, for each batch the broker thread flushed:
//   1. the batch's change records go to the store's log outbox in one write (lo/, WriteSet::log_outbox_added):
//      an append the node could not finish survives its crash and is appended again at the next start;
//   2. each record is appended under its change id (WriteSet::change_id), asynchronously;
//   3. as the log confirms them, the confirmed prefix, in submission order, is applied to the store in
//      one write that also removes its outbox records; then its outcomes are reported.
// An append not confirmed within `retry_after` is appended again under the same id: the log stores it
// once. A local write that fails after the log confirmed is tried again (the log holds the change; the
// node's store must follow it), and its outcome waits.
//
// Outcomes wait for the log, however long it is away, except when someone waits for them (WaitIdle: a
// failed write, an operator's command, the stop): after `stop_wait` the changes still unconfirmed are
// reported failed and become the stage's own ("orphans", decoded from their records). They are still
// appended and applied in order, and until they are, new submissions fail at once: they would be
// prepared on a store that lacks the orphans.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster/change_log.h"
#include "core/commit_stage.h"
#include "core/threaded_commit_stage.h"

namespace chat::cluster {

class ReplicatedCommitStage final : public core::CommitStage {
 public:
  using Finished = core::ThreadedCommitStage::Finished;
  struct Options {
    std::chrono::milliseconds retry_after{2000};
    std::size_t max_batch = 1024;
    std::chrono::microseconds rewake{100};  // see ThreadedCommitStage::Finished
    // How long WaitIdle, and the destructor, wait for the log before they give up on what it has not
    // confirmed (see above; the destructor leaves it in the outbox for the next start).
    std::chrono::milliseconds stop_wait{5000};
  };

  // `store` and `log` are borrowed and outlive the stage.
  ReplicatedCommitStage(core::Store& store, ChangeLog& log, Finished finished, Options options);
  ~ReplicatedCommitStage() override;

  // Before the first Submit: appends what the outbox holds (the node stopped with appends unconfirmed)
  // and applies it once the log confirms it. kIoError when that did not finish within `timeout`.
  core::Status DrainOutbox(std::chrono::milliseconds timeout);

  std::uint64_t Submit(const core::WriteSet& writes) override;
  void Flush() override;
  void TakeFinished(std::vector<core::CommitOutcome>* done) override;
  void WaitIdle() override;
  void Recover() override;
  // chat_log_appends_total, chat_log_append_retries_total, chat_log_unconfirmed and the
  // chat_log_confirm_seconds histogram (submission to the log's confirmation).
  void Describe(core::MetricSamples& samples) const override;
  bool NamesChanges() const override { return true; }

 private:
  using SteadyClock = std::chrono::steady_clock;
  struct Submission {
    std::uint64_t ticket = 0;  // 0: an orphan (drained from the outbox at start); nobody waits for it
    const core::WriteSet* writes = nullptr;  // borrowed (see CommitStage::Submit), or `owned`
    std::unique_ptr<core::WriteSet> owned;
    std::string record;  // set when drained
    core::Status doomed;  // refused when submitted (orphans were pending): never appended
  };
  // A submission in ticket order, from its entry until its outcome is reported (log thread only): appended
  // and waiting for the log, confirmed and waiting for the store, or failed (never appended) and waiting
  // for the outcomes before it.
  struct InLog {
    std::uint64_t ticket = 0;  // 0: an orphan, or an outcome already reported
    const core::WriteSet* writes = nullptr;
    std::unique_ptr<core::WriteSet> owned;
    core::MessageId change_id = 0;
    std::string record;
    SteadyClock::time_point submitted_at;
    SteadyClock::time_point appended_at;
    bool appended = false;
    bool confirmed = false;
    core::Status failure;  // not Ok: never appended; its outcome
    bool done() const { return confirmed || !failure.ok(); }
  };
  struct Confirmation {
    core::MessageId change_id = 0;
    core::Status status;
  };

  void Run();
  // Log thread, lock not held.
  void Enter(std::vector<Submission>& batch, bool failed);
  // Reports every submission up to `through` not reported yet as failed; what was appended of them
  // becomes an orphan (still appended and applied, nobody waiting).
  void Abandon(std::uint64_t through);
  void AppendAgainWhenDue(SteadyClock::time_point now);
  void TakeConfirmations(std::vector<Confirmation>& confirmations);
  // Applies the confirmed changes at the head (in order, an account's erasure alone) and reports the
  // outcomes of the head, in ticket order.
  void ResolveHead();
  void ApplyHead();
  void Append(InLog& entry, SteadyClock::time_point now);
  // Lock held: reports outcomes (in ticket order) to the broker thread.
  void Report(const std::vector<core::CommitOutcome>& outcomes, std::unique_lock<std::mutex>& lock);
  // Lock held: wakes the broker thread again when outcomes it has not taken waited `rewake`.
  void RewakeIfDue(std::unique_lock<std::mutex>& lock);
  void OnConfirmed(core::MessageId change_id, const core::Status& status);

  core::Store& store_;
  ChangeLog& log_;
  Finished finished_callback_;
  const Options options_;

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::deque<Submission> queue_;
  std::vector<Confirmation> confirmations_;
  std::vector<core::CommitOutcome> finished_;
  std::atomic<bool> has_finished_{false};  // see ThreadedCommitStage::has_finished_
  bool unflushed_ = false;  // broker thread only
  int rewakes_ = 0;
  SteadyClock::time_point last_wake_{};
  std::uint64_t last_ticket_ = 0;
  std::uint64_t last_done_ = 0;  // every ticket up to here has its outcome
  std::size_t orphans_ = 0;  // appended changes nobody waits for, not yet applied
  // A write of the outbox failed, or a change was too large for the log: later submissions were prepared
  // on top of it and fail too, until Recover.
  bool failed_ = false;
  // Orphans were made: submissions fail from then on (the broker prepares them on a store that lacks the
  // orphans) until Recover finds the orphans applied. Checked at Submit, on the broker thread, so that
  // nothing prepared before that Recover gets through.
  bool orphan_doom_ = false;
  bool abandon_ = false;  // WaitIdle gave up waiting: Abandon(abandon_through_)
  std::uint64_t abandon_through_ = 0;
  bool stopping_ = false;

  // Log thread only.
  std::deque<InLog> in_log_;
  std::unordered_map<core::MessageId, InLog*> by_change_id_;
  SteadyClock::time_point next_apply_retry_{};

  core::Counter appends_;
  core::Counter retries_;
  core::Counter applied_;
  core::LatencyHistogram confirm_latency_;
  std::thread worker_;
};

}  // namespace chat::cluster
