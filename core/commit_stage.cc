#include "core/commit_stage.h"

namespace chat::core {

std::uint64_t InlineCommitStage::Submit(const WriteSet& writes) {
  std::uint64_t ticket = ++last_ticket_;
  Status status = failed_ ? Status::Error(ErrorCode::kIoError, "an earlier write failed") : store_.Apply(writes);
  if (!status.ok()) failed_ = true;
  finished_.push_back({ticket, std::move(status)});
  return ticket;
}

void InlineCommitStage::TakeFinished(std::vector<CommitOutcome>* done) {
  for (CommitOutcome& outcome : finished_) done->push_back(std::move(outcome));
  finished_.clear();
}

}  // namespace chat::core
