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

void SequenceAllocator::GiveBack(const std::string& user_id, std::uint64_t seq) {
  auto it = last_.find(user_id);
  if (it != last_.end() && it->second == seq) --it->second;
}

Transaction::Transaction(Transaction&& other) noexcept
    : writes(std::move(other.writes)),
      seqs_(other.seqs_),
      submitted_(other.submitted_),
      publishes_(std::move(other.publishes_)),
      failure_reply_(std::move(other.failure_reply_)),
      after_commit_(std::move(other.after_commit_)) {
  other.submitted_ = true;  // what it took is this one's now
}

Transaction::~Transaction() {
  if (submitted_) return;
  for (auto append = writes.queue.rbegin(); append != writes.queue.rend(); ++append) {
    seqs_->GiveBack(append->user_id, append->seq);
  }
}

std::vector<std::string> Transaction::delivered_to() const {
  std::vector<std::string> users;
  users.reserve(writes.queue.size());
  for (const WriteSet::QueueAppend& append : writes.queue) users.push_back(append.user_id);
  return users;
}

Status Transaction::Deliver(const std::string& user_id, const QueueEntry& entry, const std::string& event_json) {
  return DeliverToOtherDevices(user_id, entry, event_json, {}).status();
}

Result<std::uint64_t> Transaction::DeliverToOtherDevices(const std::string& user_id, const QueueEntry& entry,
                                                         const std::string& event_json,
                                                         std::string_view except_client) {
  Result<std::uint64_t> seq = seqs_->Next(user_id);
  if (!seq.ok()) return seq.status();
  writes.queue.push_back({user_id, *seq, entry});
  publishes_.push_back({Publish::Kind::kDelivery, std::string(except_client), UserTopic(user_id, kMessageKind),
                        WithSeq(event_json, *seq), user_id});
  return *seq;
}

Status Transaction::DeliverAll(const std::vector<std::string>& users, const QueueEntry& entry,
                               const std::string& event_json) {
  for (const std::string& user : users) {
    if (Status s = Deliver(user, entry, event_json); !s.ok()) return s;
  }
  return Status::Ok();
}

void Transaction::ReserveDeliveries(std::size_t users) {
  writes.queue.reserve(writes.queue.size() + users);
  publishes_.reserve(publishes_.size() + users + 1);
}

void Transaction::Reply(std::string client_id, std::string topic, std::string payload) {
  publishes_.push_back({Publish::Kind::kClient, std::move(client_id), std::move(topic), std::move(payload), ""});
}

void Transaction::Ephemeral(std::string topic, std::string payload) {
  publishes_.push_back({Publish::Kind::kEphemeral, "", std::move(topic), std::move(payload), ""});
}

void Transaction::OnFailure(std::string_view client_id, std::string_view user_id, std::string_view op,
                            const RequestTag& tag) {
  failure_reply_ = FailureReply{std::string(client_id), std::string(user_id), op, tag};
}

std::size_t Transaction::Committed(Outbox& outbox, const DeviceLookup& devices) {
  std::vector<std::string> client_ids;
  std::size_t deliveries = 0;
  for (Publish& publish : publishes_) {
    switch (publish.kind) {
      case Publish::Kind::kDelivery:
        if (!devices) {
          outbox.ToTopic(std::move(publish.topic), std::move(publish.payload));
          ++deliveries;
          break;
        }
        // Straight to each device: no topic matching and no ACL check per copy in the broker.
        client_ids.clear();
        devices(publish.user_id, &client_ids);
        for (std::string& client_id : client_ids) {
          if (client_id == publish.client_id) continue;
          outbox.ToDevice(std::move(client_id), publish.topic, publish.payload);
          ++deliveries;
        }
        break;
      case Publish::Kind::kEphemeral: outbox.Ephemeral(std::move(publish.topic), std::move(publish.payload)); break;
      case Publish::Kind::kClient:
        outbox.ToClient(std::move(publish.client_id), std::move(publish.topic), std::move(publish.payload));
        break;
    }
  }
  publishes_.clear();
  failure_reply_.reset();
  for (auto& action : after_commit_) action();
  after_commit_.clear();
  return deliveries;
}

bool Transaction::Failed(Outbox& outbox) {
  publishes_.clear();
  after_commit_.clear();
  if (failure_reply_) {
    outbox.ToClient(std::move(failure_reply_->client_id), UserTopic(failure_reply_->user_id, kReplyKind),
                    ErrorJson(failure_reply_->op, failure_reply_->tag,
                              Status::Error(ErrorCode::kIoError, "not stored (a write failed); try again")));
    failure_reply_.reset();
    return true;
  }
  return false;
}

}  // namespace chat::core
