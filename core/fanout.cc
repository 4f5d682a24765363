#include "core/fanout.h"

#include "core/protocol_format.h"
#include "core/topic_format.h"

namespace chat::core {

Result<std::uint64_t> SequenceAllocator::Next(const std::string& user_id) {
  auto it = last_.find(user_id);
  if (it == last_.end()) {
    Result<std::uint64_t> stored = store_.LastQueueSeq(user_id);
    if (!stored.ok()) return stored.status();
    it = last_.emplace(user_id, *stored).first;
  }
  return ++it->second;
}

Status Fanout::Add(const std::string& user_id, const QueueEntry& entry, const std::string& event_json,
                   WriteSet* writes) {
  Result<std::uint64_t> seq = seqs_.Next(user_id);
  if (!seq.ok()) return seq.status();
  writes->queue.push_back({user_id, *seq, entry});
  users_.push_back(user_id);
  deliveries_.push_back({*seq, &event_json});
  return Status::Ok();
}

Status Fanout::AddAll(const std::vector<std::string>& users, const QueueEntry& entry, const std::string& event_json,
                      WriteSet* writes) {
  for (const std::string& user : users) {
    if (Status s = Add(user, entry, event_json, writes); !s.ok()) {
      Abandon();
      return s;
    }
  }
  return Status::Ok();
}

void Fanout::Publish(Outbox& outbox) const {
  for (std::size_t i = 0; i < users_.size(); ++i) {
    outbox.ToTopic(UserTopic(users_[i], kMessageKind), WithSeq(*deliveries_[i].event_json, deliveries_[i].seq));
  }
}

void Fanout::Abandon() {
  for (const std::string& user : users_) seqs_.Forget(user);
}

}  // namespace chat::core
