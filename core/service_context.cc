#include "core/service_context.h"

#include <algorithm>
#include <set>

#include "core/names.h"
#include "core/topic_format.h"

namespace chat::core {
namespace {

constexpr std::size_t kTrimPerCommit = 16;  // bounds the work one request adds for retention

}  // namespace

Status RateGate::Take(std::string_view user_id) const {
  if (limiter_ == nullptr || limiter_->TryAcquire(std::string(user_id))) return Status::Ok();
  return Status::Error(ErrorCode::kRateLimited, refusal_);
}

void Request::Reply(std::string payload) const {
  tx.Reply(std::string(caller.client_id), UserTopic(caller.user_id, kReplyKind), std::move(payload));
}

Status ServiceContext::Commit(Transaction& tx, Outbox& outbox) {
  if (!tx.writes.empty()) {
    if (Status s = store.Apply(tx.writes); !s.ok()) return s;
  }
  tx.Committed(outbox);
  NotifyRelationships(tx.writes);
  if (sync.retention_days > 0) {
    std::int64_t cutoff = clock.NowMillis() - static_cast<std::int64_t>(sync.retention_days) * 86400000;
    for (const WriteSet::QueueAppend& append : tx.writes.queue) {
      IgnoreError(store.TrimQueue(append.user_id, cutoff, kTrimPerCommit),
                  "retention is best effort; retried next time");
    }
  }
  return Status::Ok();
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

void ServiceContext::NotifyRelationships(const WriteSet& writes) {
  if (!relationships_changed) return;
  if (writes.contacts.empty() && writes.members_added.empty() && writes.members_removed.empty() &&
      writes.group_accepts.empty()) {
    return;
  }
  std::set<std::string> users;
  std::set<std::string> groups;
  for (const auto& contact : writes.contacts) {
    users.insert(contact.user_id);
    users.insert(contact.other);
  }
  for (const auto* changes : {&writes.members_added, &writes.members_removed, &writes.group_accepts}) {
    for (const auto& membership : *changes) {
      users.insert(membership.user_id);
      groups.insert(membership.group_id);
    }
  }
  for (const std::string& group : groups) {
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
  if (!ValidateUserId(user_id).ok()) return Status::Error(ErrorCode::kUnknownPeer, "no such user: " + user_id);
  Status exists = store.UserExists(user_id);
  if (exists.code() == ErrorCode::kNotFound) return Status::Error(ErrorCode::kUnknownPeer, "no such user: " + user_id);
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
