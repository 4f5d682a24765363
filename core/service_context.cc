#include "core/service_context.h"

#include <set>

#include "core/names.h"
#include "core/topic_format.h"

namespace chat::core {
namespace {

constexpr std::size_t kTrimPerCommit = 16;  // bounds the work one request adds for retention

}  // namespace

Status ServiceContext::Commit(const WriteSet& writes, Fanout& fanout, Outbox& outbox) {
  if (Status s = store.Apply(writes); !s.ok()) {
    fanout.Abandon();
    return s;
  }
  fanout.Publish(outbox);
  NotifyRelationships(writes);
  if (sync.retention_days > 0) {
    std::int64_t cutoff = clock.NowMillis() - static_cast<std::int64_t>(sync.retention_days) * 86400000;
    for (const std::string& user : fanout.users()) {
      IgnoreError(store.TrimQueue(user, cutoff, kTrimPerCommit), "retention is best effort; retried next time");
    }
  }
  return Status::Ok();
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
