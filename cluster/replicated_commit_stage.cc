#include "cluster/replicated_commit_stage.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <limits>

#include "storage/change_record.h"

namespace chat::cluster {
namespace {

// A failed local write (a full disk) is tried again this often; a failed append as soon as this.
constexpr std::chrono::milliseconds kLocalRetry{500};
constexpr std::chrono::milliseconds kAppendErrorRetry{200};

}  // namespace

ReplicatedCommitStage::ReplicatedCommitStage(core::Store& store, ChangeLog& log, Finished finished, Options options)
    : store_(store), log_(log), finished_callback_(std::move(finished)), options_(options) {
  log_.SetConfirmed([this](core::MessageId change_id, const core::Status& status) { OnConfirmed(change_id, status); });
  worker_ = std::thread([this] { Run(); });
}

ReplicatedCommitStage::~ReplicatedCommitStage() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_.notify_one();
  worker_.join();
  log_.SetConfirmed(nullptr);
}

void ReplicatedCommitStage::OnConfirmed(core::MessageId change_id, const core::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    confirmations_.push_back({change_id, status});
  }
  work_.notify_one();
}

core::Status ReplicatedCommitStage::DrainOutbox(std::chrono::milliseconds timeout) {
  core::Result<std::vector<core::WriteSet::LogOutboxRecord>> pending = store_.ListLogOutbox();
  if (!pending.ok()) return pending.status();
  if (pending->empty()) return core::Status::Ok();
  std::vector<Submission> drained;
  for (core::WriteSet::LogOutboxRecord& waiting : *pending) {
    auto writes = std::make_unique<core::WriteSet>();
    if (core::Status s = storage::DecodeChange(waiting.record, writes.get()); !s.ok()) return s;
    if (writes->change_id != waiting.change_id) {
      return core::Status::Error(core::ErrorCode::kCorruption, "log outbox record under another change id");
    }
    Submission submission;
    submission.writes = writes.get();
    submission.owned = std::move(writes);
    submission.record = std::move(waiting.record);
    drained.push_back(std::move(submission));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  orphans_ += drained.size();
  std::move(drained.begin(), drained.end(), std::back_inserter(queue_));
  work_.notify_one();
  if (!idle_.wait_for(lock, timeout, [this] { return orphans_ == 0; })) {
    return core::Status::Error(core::ErrorCode::kIoError,
                               std::to_string(orphans_) + " changes of the log outbox are not confirmed by the log");
  }
  return core::Status::Ok();
}

std::uint64_t ReplicatedCommitStage::Submit(const core::WriteSet& writes) {
  std::uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ticket = ++last_ticket_;
    Submission& submission = queue_.emplace_back();
    submission.ticket = ticket;
    submission.writes = &writes;
    if (orphan_doom_) {
      submission.doomed = core::Status::Error(core::ErrorCode::kIoError,
                                              "not stored: the replicated log has not confirmed earlier changes yet");
    }
  }
  unflushed_ = true;  // one wake-up per loop pass (Flush), not one per submission
  return ticket;
}

void ReplicatedCommitStage::Flush() {
  if (!unflushed_) return;
  unflushed_ = false;
  work_.notify_one();
}

void ReplicatedCommitStage::TakeFinished(std::vector<core::CommitOutcome>* done) {
  if (!has_finished_.load()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  std::move(finished_.begin(), finished_.end(), std::back_inserter(*done));
  finished_.clear();
  has_finished_.store(false);
}

void ReplicatedCommitStage::WaitIdle() {
  Flush();
  std::unique_lock<std::mutex> lock(mutex_);
  auto idle = [this] { return last_done_ == last_ticket_; };
  if (idle_.wait_for(lock, options_.stop_wait, idle)) return;
  abandon_through_ = last_ticket_;
  abandon_ = true;
  work_.notify_one();
  idle_.wait(lock, idle);
  abandon_ = false;  // the outcomes came by themselves meanwhile: nothing to give up on
}

void ReplicatedCommitStage::Recover() {
  std::lock_guard<std::mutex> lock(mutex_);
  failed_ = false;
  if (orphans_ == 0) orphan_doom_ = false;
}

void ReplicatedCommitStage::Report(const std::vector<core::CommitOutcome>& outcomes,
                                   std::unique_lock<std::mutex>& lock) {
  if (outcomes.empty()) return;
  for (const core::CommitOutcome& outcome : outcomes) {
    finished_.push_back(outcome);
    last_done_ = outcome.ticket;  // in ticket order: every one before it has its outcome too
  }
  bool announced = has_finished_.exchange(true);
  if (!announced) rewakes_ = 0;
  idle_.notify_all();
  if (announced || !finished_callback_) return;
  last_wake_ = SteadyClock::now();
  lock.unlock();
  finished_callback_(/*force=*/false);
  lock.lock();
}

void ReplicatedCommitStage::RewakeIfDue(std::unique_lock<std::mutex>& lock) {
  // Nobody takes outcomes once the stop began.
  if (!has_finished_.load() || !finished_callback_ || stopping_) return;
  auto now = SteadyClock::now();
  if (now - last_wake_ < options_.rewake) return;
  last_wake_ = now;
  bool force = ++rewakes_ % core::ThreadedCommitStage::kForcedRewakeEvery == 0;
  lock.unlock();
  finished_callback_(force);
  lock.lock();
}

void ReplicatedCommitStage::Append(InLog& entry, SteadyClock::time_point now) {
  entry.appended = true;
  entry.appended_at = now;
  if (!log_.Append(entry.change_id, entry.record).ok()) {
    entry.appended_at = now - options_.retry_after + kAppendErrorRetry;
  }
}

void ReplicatedCommitStage::Enter(std::vector<Submission>& batch, bool failed) {
  auto now = SteadyClock::now();
  const core::Status earlier_failed =
      core::Status::Error(core::ErrorCode::kIoError, "not stored: an earlier write failed");
  core::WriteSet outbox;
  std::size_t first = in_log_.size();
  for (Submission& submission : batch) {
    InLog& entry = in_log_.emplace_back();
    entry.ticket = submission.ticket;
    entry.writes = submission.writes;
    entry.owned = std::move(submission.owned);
    entry.change_id = submission.writes->change_id;
    entry.record = std::move(submission.record);
    entry.submitted_at = now;
    if (submission.ticket == 0) continue;  // drained: its record is in the outbox already
    if (!submission.doomed.ok()) {
      entry.failure = std::move(submission.doomed);
      continue;
    }
    if (failed) {
      entry.failure = earlier_failed;
      continue;
    }
    entry.record = storage::EncodeChange(*submission.writes);
    if (entry.record.size() > log_.max_record_bytes()) {
      entry.failure = core::Status::Error(
          core::ErrorCode::kTooLong, "the change takes " + std::to_string(entry.record.size()) +
                                         " bytes; the replicated log takes at most " +
                                         std::to_string(log_.max_record_bytes()));
      failed = true;  // what follows was prepared on top of it
      continue;
    }
    outbox.log_outbox_added.push_back({entry.change_id, entry.record});
  }
  batch.clear();
  core::Status stored = outbox.empty() ? core::Status::Ok() : store_.Apply(outbox);
  for (std::size_t i = first; i < in_log_.size(); ++i) {
    InLog& entry = in_log_[i];
    if (!entry.failure.ok()) continue;
    if (entry.ticket != 0 && !stored.ok()) {
      entry.failure = stored;
      failed = true;
      continue;
    }
    by_change_id_[entry.change_id] = &entry;
    appends_.Add();
    Append(entry, now);
  }
  if (failed) {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_ = true;
  }
}

void ReplicatedCommitStage::Abandon(std::uint64_t through) {
  std::vector<core::CommitOutcome> failed;
  core::Status unconfirmed =
      core::Status::Error(core::ErrorCode::kIoError, "the replicated log has not confirmed it in time");
  std::size_t orphaned = 0;
  for (InLog& entry : in_log_) {
    if (entry.ticket == 0) continue;
    if (entry.ticket > through) break;
    failed.push_back({entry.ticket, entry.failure.ok() ? unconfirmed : entry.failure});
    entry.ticket = 0;
    if (!entry.failure.ok()) continue;  // never appended: gone with its outcome
    // Its borrowed write set goes with the failed request: the record has all of it.
    auto owned = std::make_unique<core::WriteSet>();
    if (!storage::DecodeChange(entry.record, owned.get()).ok()) std::abort();  // encoded by this process
    entry.writes = owned.get();
    entry.owned = std::move(owned);
    ++orphaned;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (orphaned != 0) {
    orphans_ += orphaned;
    orphan_doom_ = true;
  }
  Report(failed, lock);
}

void ReplicatedCommitStage::AppendAgainWhenDue(SteadyClock::time_point now) {
  for (InLog& entry : in_log_) {
    if (!entry.appended || entry.confirmed || now - entry.appended_at < options_.retry_after) continue;
    retries_.Add();
    Append(entry, now);
  }
}

void ReplicatedCommitStage::TakeConfirmations(std::vector<Confirmation>& confirmations) {
  auto now = SteadyClock::now();
  for (const Confirmation& confirmation : confirmations) {
    auto found = by_change_id_.find(confirmation.change_id);
    if (found == by_change_id_.end() || found->second->confirmed) continue;  // an earlier attempt's answer
    InLog& entry = *found->second;
    if (confirmation.status.ok()) {
      entry.confirmed = true;
      confirm_latency_.Observe(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - entry.submitted_at).count()));
    } else {
      entry.appended_at = now - options_.retry_after + kAppendErrorRetry;
    }
  }
  confirmations.clear();
}

void ReplicatedCommitStage::ResolveHead() {
  ApplyHead();
  // A failure behind orphans only (appended changes nobody waits for) is told now: its outcome comes
  // after every ticket before it, and an orphan's application may wait for the log a long time.
  std::vector<core::CommitOutcome> failures;
  for (InLog& entry : in_log_) {
    if (entry.ticket == 0) continue;
    if (entry.failure.ok()) break;  // waiting for the log or the store: what follows waits for it
    failures.push_back({entry.ticket, entry.failure});
    entry.ticket = 0;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  Report(failures, lock);
}

void ReplicatedCommitStage::ApplyHead() {
  // The head: entries whose fate is known, up to the batch size; an account's erasure is applied alone,
  // as ThreadedCommitStage does (storing it reads what is stored before it).
  std::size_t count = 0;
  std::vector<const core::WriteSet*> sets;
  core::WriteSet done;
  while (count < in_log_.size() && count < options_.max_batch && in_log_[count].done()) {
    const InLog& entry = in_log_[count];
    if (entry.confirmed) {
      bool erases = !entry.writes->erased_users.empty();
      if (erases && !sets.empty()) break;
      sets.push_back(entry.writes);
      done.log_outbox_done.push_back(entry.change_id);
      ++count;
      if (erases) break;
    } else {
      ++count;
    }
  }
  if (count == 0) return;
  if (!sets.empty()) {
    if (SteadyClock::now() < next_apply_retry_) return;
    sets.push_back(&done);
    if (core::Status applied = store_.ApplyAll(sets); !applied.ok()) {
      // The log has these changes; the store must take them, later. Whoever waits for them is told now,
      // so that the broker can make the store take writes again (Store::RecoverFromWriteFailure).
      next_apply_retry_ = SteadyClock::now() + kLocalRetry;
      Abandon(std::numeric_limits<std::uint64_t>::max());
      return;
    }
    applied_.Add(sets.size() - 1);
  }
  std::vector<core::CommitOutcome> outcomes;
  std::size_t orphans_applied = 0;
  for (std::size_t i = 0; i < count; ++i) {
    InLog& entry = in_log_.front();
    if (entry.ticket != 0) {
      outcomes.push_back({entry.ticket, entry.failure});
    } else if (entry.confirmed) {
      ++orphans_applied;
    }
    if (entry.appended) by_change_id_.erase(entry.change_id);
    in_log_.pop_front();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  orphans_ -= std::min(orphans_, orphans_applied);
  if (orphans_applied != 0) idle_.notify_all();
  Report(outcomes, lock);
}

void ReplicatedCommitStage::Run() {
  std::vector<Submission> batch;
  std::vector<Confirmation> confirmations;
  SteadyClock::time_point stop_deadline{};
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (!queue_.empty()) {
      std::size_t count = std::min(queue_.size(), options_.max_batch);
      std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count), std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count));
      bool failed = failed_;
      lock.unlock();
      Enter(batch, failed);
      ResolveHead();  // failures at the head are known at once
      lock.lock();
      continue;
    }
    if (!confirmations_.empty()) {
      confirmations.swap(confirmations_);
      lock.unlock();
      TakeConfirmations(confirmations);
      ResolveHead();
      lock.lock();
      continue;
    }
    if (abandon_) {
      abandon_ = false;
      std::uint64_t through = abandon_through_;
      lock.unlock();
      Abandon(through);
      lock.lock();
      continue;
    }
    auto now = SteadyClock::now();
    if (stopping_) {
      if (stop_deadline == SteadyClock::time_point{}) stop_deadline = now + options_.stop_wait;
      if (in_log_.empty() || now >= stop_deadline) break;
    }
    // Sleep until there is work, an append is due again, a failed local write may be tried again, or
    // outcomes nobody took need another wake-up.
    auto wake_at = now + std::chrono::seconds(1);
    for (const InLog& entry : in_log_) {
      if (entry.appended && !entry.confirmed) wake_at = std::min(wake_at, entry.appended_at + options_.retry_after);
    }
    if (!in_log_.empty() && in_log_.front().done()) wake_at = std::min(wake_at, next_apply_retry_);
    if (has_finished_.load() && !stopping_) wake_at = std::min(wake_at, last_wake_ + options_.rewake);
    if (stopping_) wake_at = std::min(wake_at, stop_deadline);
    bool woken = work_.wait_until(lock, wake_at, [this] {
      return !queue_.empty() || !confirmations_.empty() || abandon_ || (stopping_ && in_log_.empty());
    });
    RewakeIfDue(lock);
    if (woken) continue;
    lock.unlock();
    AppendAgainWhenDue(SteadyClock::now());
    ResolveHead();
    lock.lock();
  }
  // Stopping with appends unconfirmed: they stay in the outbox for the next start; their requests fail.
  std::vector<core::CommitOutcome> unconfirmed;
  for (const InLog& entry : in_log_) {
    if (entry.ticket == 0) continue;
    unconfirmed.push_back({entry.ticket, !entry.failure.ok()
                                             ? entry.failure
                                             : core::Status::Error(core::ErrorCode::kIoError,
                                                                   "the replicated log did not confirm it before the stop")});
  }
  in_log_.clear();
  by_change_id_.clear();
  Report(unconfirmed, lock);
}

void ReplicatedCommitStage::Describe(core::MetricSamples& samples) const {
  samples.Add("chat_log_appends_total", "Changes appended to the replicated log (first attempts).",
              core::MetricType::kCounter, static_cast<double>(appends_.value()));
  samples.Add("chat_log_append_retries_total", "Appends repeated after no confirmation within the retry time.",
              core::MetricType::kCounter, static_cast<double>(retries_.value()));
  std::uint64_t applied = applied_.value();
  std::uint64_t appended = appends_.value();
  samples.Add("chat_log_unconfirmed", "Changes appended and not yet applied to this node's store.",
              core::MetricType::kGauge, static_cast<double>(appended >= applied ? appended - applied : 0));
  samples.AddHistogram("chat_log_confirm_seconds",
                       "Time from a change's submission to the replicated log's confirmation.", confirm_latency_);
}

}  // namespace chat::cluster
