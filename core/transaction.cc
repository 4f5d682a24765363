#include "core/transaction.h"

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

Transaction::~Transaction() {
  if (committed_) return;
  for (const WriteSet::QueueAppend& append : writes.queue) seqs_.Forget(append.user_id);
}

std::vector<std::string> Transaction::delivered_to() const {
  std::vector<std::string> users;
  users.reserve(writes.queue.size());
  for (const WriteSet::QueueAppend& append : writes.queue) users.push_back(append.user_id);
  return users;
}

Status Transaction::Deliver(const std::string& user_id, const QueueEntry& entry, const std::string& event_json) {
  Result<std::uint64_t> seq = seqs_.Next(user_id);
  if (!seq.ok()) return seq.status();
  writes.queue.push_back({user_id, *seq, entry});
  publishes_.push_back({Publish::Kind::kTopic, "", UserTopic(user_id, kMessageKind), WithSeq(event_json, *seq)});
  return Status::Ok();
}

Status Transaction::DeliverAll(const std::vector<std::string>& users, const QueueEntry& entry,
                               const std::string& event_json) {
  for (const std::string& user : users) {
    if (Status s = Deliver(user, entry, event_json); !s.ok()) return s;
  }
  return Status::Ok();
}

void Transaction::Reply(std::string client_id, std::string topic, std::string payload) {
  publishes_.push_back({Publish::Kind::kClient, std::move(client_id), std::move(topic), std::move(payload)});
}

void Transaction::Ephemeral(std::string topic, std::string payload) {
  publishes_.push_back({Publish::Kind::kEphemeral, "", std::move(topic), std::move(payload)});
}

void Transaction::Committed(Outbox& outbox) {
  committed_ = true;
  for (Publish& publish : publishes_) {
    switch (publish.kind) {
      case Publish::Kind::kTopic: outbox.ToTopic(std::move(publish.topic), std::move(publish.payload)); break;
      case Publish::Kind::kEphemeral: outbox.Ephemeral(std::move(publish.topic), std::move(publish.payload)); break;
      case Publish::Kind::kClient:
        outbox.ToClient(std::move(publish.client_id), std::move(publish.topic), std::move(publish.payload));
        break;
    }
  }
  publishes_.clear();
  for (auto& action : after_commit_) action();
  after_commit_.clear();
}

}  // namespace chat::core
