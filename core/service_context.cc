#include "core/service_context.h"

#include <algorithm>
#include <set>

#include "core/mentions.h"
#include "core/names.h"
#include "core/topic_format.h"

namespace chat::core {
namespace {

constexpr std::size_t kRememberedUsers = 200000;  // CheckUser's memory of existing accounts: ~20 MB
// How often a store that refuses writes is tried again (each try reopens it on the broker thread).
constexpr std::int64_t kRecoveryIntervalMs = 1000;

std::string InFlightKey(std::string_view sender, std::string_view cmid) {
  std::string key;
  key.reserve(sender.size() + 1 + cmid.size());
  key.append(sender).push_back('\0');
  key.append(cmid);
  return key;
}

}  // namespace

ServiceContext::~ServiceContext() {
  // The stage borrows the write sets of pending transactions: nothing may still be reading them.
  stage_.WaitIdle();
}

Status RateGate::Take(std::string_view user_id) const {
  if (limiter_ == nullptr || limiter_->TryAcquire(std::string(user_id))) return Status::Ok();
  return Status::Error(ErrorCode::kRateLimited, refusal_);
}

void Request::Reply(std::string payload) const {
  tx.Reply(std::string(caller.client_id), UserTopic(caller.user_id, kReplyKind), std::move(payload));
}

ServiceContext::Pending ServiceContext::Prepare(Transaction tx, LaterSends later_sends) {
  Pending pending{0, std::move(tx), later_sends, {}, {}, {}};
  const WriteSet& writes = pending.tx.writes;
  for (const auto& contact : writes.contacts) {
    pending.related_users.push_back(contact.user_id);
    pending.related_users.push_back(contact.other);
  }
  for (const auto* changes : {&writes.members_added, &writes.members_removed, &writes.group_accepts}) {
    for (const auto& membership : *changes) {
      pending.related_users.push_back(membership.user_id);
      pending.related_groups.push_back(membership.group_id);
    }
  }
  for (const StoredMessage& message : writes.messages) {
    if (message.client_message_id.empty()) continue;
    std::string key = InFlightKey(message.from, message.client_message_id);
    sends_in_flight_[key] = message.id;
    pending.sends.push_back(std::move(key));
  }
  return pending;
}

void ServiceContext::Commit(Transaction tx, Outbox& outbox, LaterSends later_sends) {
  if (!store_writable_ && !tx.writes.empty()) {
    // The store refuses writes since a failure (RetryRecovery): answered at once.
    last_failure_ = Status::Error(ErrorCode::kIoError, "the store refuses writes since a failed write");
    tx.Failed(outbox);
    return;
  }
  Pending pending = Prepare(std::move(tx), later_sends);
  pending.tx.Submitted();
  if (pending.tx.writes.empty() && pending_.empty()) {
    Complete(pending, outbox);  // nothing to store and nothing to wait for: a read-only request
    return;
  }
  if (later_sends == LaterSends::kWait) ++waiting_sends_;
  pending_.push_back(std::move(pending));
  // The stage borrows the writes from here (a deque keeps its elements in place) until their outcome.
  Transaction& submitted = pending_.back().tx;
  if (!submitted.writes.empty()) {
    if (stage_.NamesChanges()) {
      submitted.writes.change_id = submitted.writes.id_floor != 0 ? submitted.writes.id_floor : NewId(submitted);
    }
    pending_.back().ticket = stage_.Submit(submitted.writes);
  }
  PublishCommitted(outbox);  // an inline stage has stored it already
}

Status ServiceContext::CommitNow(Transaction tx, Outbox& outbox) {
  last_failure_ = Status::Ok();
  Commit(std::move(tx), outbox);
  while (!pending_.empty()) {
    stage_.WaitIdle();
    PublishCommitted(outbox);
  }
  return last_failure_;
}

void ServiceContext::PublishCommitted(Outbox& outbox) {
  if (pending_.empty()) return;
  std::vector<CommitOutcome> finished;
  stage_.TakeFinished(&finished);
  // Completing one may commit another (and so come back here): walk the queue, not the list.
  std::size_t next = 0;
  do {
    if (next < finished.size()) {
      const CommitOutcome& outcome = finished[next++];
      if (!outcome.status.ok()) {
        FailAll(outcome.status, outbox);
        return;
      }
      stored_through_ = outcome.ticket;
    }
    while (!pending_.empty() && pending_.front().ticket <= stored_through_) {
      Pending done = std::move(pending_.front());
      pending_.pop_front();
      if (done.later_sends == LaterSends::kWait) --waiting_sends_;
      Complete(done, outbox);
    }
  } while (next < finished.size());
  if (pending_.empty()) seqs.ForgetAllIfOver(kRememberedUsers);
}

void ServiceContext::Complete(Pending& done, Outbox& outbox) {
  for (const std::string& key : done.sends) sends_in_flight_.erase(key);
  metrics.deliveries.Add(done.tx.Committed(outbox, devices_of));
  for (const StoredMessage& message : done.tx.writes.messages) {
    (message.group_id.empty() ? metrics.direct_messages : metrics.group_messages).Add();
  }
  NotifyRelationships(done);
}

void ServiceContext::FailAll(const Status& status, Outbox& outbox) {
  // Every later submission fails too (see CommitStage::Recover); wait for them all to be told.
  stage_.WaitIdle();
  std::vector<CommitOutcome> rest;
  stage_.TakeFinished(&rest);
  for (const CommitOutcome& outcome : rest) stored_through_ = std::max(stored_through_, outcome.ticket);
  std::deque<Pending> failed;
  failed.swap(pending_);
  waiting_sends_ = 0;
  sends_in_flight_.clear();
  // The failed transactions' seqs are not stored; later ones follow what is.
  seqs.ForgetAll();
  last_failure_ = status;
  // Nothing reads or writes the store now (the writer is idle, this is the thread that reads).
  Status recovery = store.RecoverFromWriteFailure();
  store_writable_ = recovery.ok();
  next_recovery_ms_ = clock.MonotonicMillis() + kRecoveryIntervalMs;
  stage_.Recover();
  for (Pending& pending : failed) {
    if (pending.tx.Failed(outbox)) metrics.CountRejected(ErrorCode::kIoError);
  }
  if (commit_failed) commit_failed(status, failed.size(), recovery);
}

void ServiceContext::RetryRecovery() {
  if (store_writable_ || !pending_.empty() || clock.MonotonicMillis() < next_recovery_ms_) return;
  // Nothing is in flight, so the writer is idle and this is the only thread using the store.
  Status recovery = store.RecoverFromWriteFailure();
  next_recovery_ms_ = clock.MonotonicMillis() + kRecoveryIntervalMs;
  if (!recovery.ok()) return;
  store_writable_ = true;
  if (store_recovered) store_recovered();
}

MessageId ServiceContext::SendInFlight(std::string_view sender, std::string_view cmid) const {
  auto it = sends_in_flight_.find(InFlightKey(sender, cmid));
  return it == sends_in_flight_.end() ? 0 : it->second;
}

MessageId ServiceContext::NewId(Transaction& tx) {
  MessageId id = ids.Next();
  tx.writes.id_floor = std::max(tx.writes.id_floor, id);
  return id;
}

Result<Target> ServiceContext::TargetOf(const Caller& caller, const RequestFields& request, const char* peer_field) {
  std::string me(caller.user_id);
  if (request.Has("group")) {
    std::string group;
    if (Status s = request.RequiredString("group", &group); !s.ok()) return s;
    if (Status s = CheckMember(group, me); !s.ok()) return s;
    return Target{Conversation::Group(group), ""};
  }
  std::string peer;
  if (Status s = request.RequiredString(peer_field, &peer); !s.ok()) {
    return Status::Error(ErrorCode::kBadRequest, std::string(peer_field) + " or group is required");
  }
  if (Status s = CheckUser(peer); !s.ok()) return s;
  return Target{Conversation::Direct(me, peer), std::move(peer)};
}

Result<std::vector<std::string>> ServiceContext::Participants(const Caller& caller, const Target& target) {
  std::vector<std::string> recipients;
  if (target.is_group()) {
    Result<std::vector<GroupMember>> members = store.ListMembers(target.conversation.key);
    if (!members.ok()) return members.status();
    recipients.reserve(members->size());
    for (GroupMember& m : *members) recipients.push_back(std::move(m.user_id));
    return recipients;
  }
  recipients.reserve(2);
  recipients.push_back(target.peer);
  if (target.peer != caller.user_id) recipients.emplace_back(caller.user_id);
  return recipients;
}

Status ServiceContext::NoteMentions(const std::vector<std::string>& members, StoredMessage* message,
                                    const std::vector<std::string>& before, WriteSet* writes) {
  message->mentions.clear();
  message->mentions_all = false;
  // Only a text with an "@" costs a look at the group (its owner decides on "@all").
  if (message->text.find('@') != std::string::npos) {
    Result<std::optional<GroupRecord>> group = store.GetGroup(message->group_id);
    if (!group.ok()) return group.status();
    if (Status s = ResolveMentions(members, *group ? (*group)->owner : "", message); !s.ok()) return s;
  }
  for (const std::string& user : message->mentions) {
    if (std::find(before.begin(), before.end(), user) == before.end()) {
      writes->mentions.push_back({user, message->group_id, message->id});
    }
  }
  for (const std::string& user : before) {
    if (!Mentions(*message, user)) writes->mentions_removed.push_back({user, message->group_id, message->id});
  }
  return Status::Ok();
}

Status ServiceContext::ReadText(const RequestFields& request, std::string* text) const {
  std::size_t chars = 0;
  if (Status s = request.RequiredText("text", text, &chars); !s.ok()) return s;
  if (chars == 0) return Status::Error(ErrorCode::kBadRequest, "text is empty");
  if (chars > limits.max_message_chars) {
    return Status::Error(ErrorCode::kTooLong, "text has " + std::to_string(chars) + " characters; the limit is " +
                                                  std::to_string(limits.max_message_chars));
  }
  return Status::Ok();
}

void ServiceContext::NotifyRelationships(const Pending& done) {
  if (!relationships_changed || done.related_users.empty()) return;
  std::set<std::string> users(done.related_users.begin(), done.related_users.end());
  for (const std::string& group : std::set<std::string>(done.related_groups.begin(), done.related_groups.end())) {
    Result<std::vector<GroupMember>> members = store.ListMembers(group);
    if (!members.ok()) {
      relationships_changed(std::nullopt);
      return;
    }
    for (const GroupMember& member : *members) users.insert(member.user_id);
  }
  relationships_changed(std::vector<std::string>(users.begin(), users.end()));
}

Status ServiceContext::CheckUser(const std::string& user_id) {
  if (existing_users_.contains(user_id)) return Status::Ok();
  if (!ValidateUserId(user_id).ok()) return Status::Error(ErrorCode::kUnknownPeer, "no such user: " + user_id);
  Status exists = store.UserExists(user_id);
  if (exists.code() == ErrorCode::kNotFound) return Status::Error(ErrorCode::kUnknownPeer, "no such user: " + user_id);
  if (exists.ok()) {
    // Starting afresh when full keeps the memory bounded; the users who are written to come back at once.
    if (existing_users_.size() >= kRememberedUsers) existing_users_.clear();
    existing_users_.insert(user_id);
  }
  return exists;
}

Status ServiceContext::CheckMember(const std::string& group_id, const std::string& user_id) {
  Status member = group_id.empty() ? Status::Error(ErrorCode::kNotFound, "")
                                   : store.CheckMember(group_id, user_id);
  if (member.code() == ErrorCode::kNotFound) {
    return Status::Error(ErrorCode::kNotFound, "no such group, or not a member");
  }
  return member;
}

Status ServiceContext::NoteTookPart(const std::string& group_id, const std::string& user_id, WriteSet* writes) {
  Status known = store.CheckTookPart(group_id, user_id);
  if (known.ok()) return known;
  if (known.code() != ErrorCode::kNotFound) return known;
  writes->group_accepts.push_back({group_id, user_id, 0});
  return Status::Ok();
}

void ServiceContext::Reply(const Caller& caller, Outbox& outbox, std::string reply) {
  outbox.ToClient(std::string(caller.client_id), UserTopic(caller.user_id, kReplyKind), std::move(reply));
}

}  // namespace chat::core
