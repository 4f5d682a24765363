#include "core/group_service.h"

#include <algorithm>
#include <set>

#include "core/utf8.h"

namespace chat::core {
namespace {

std::vector<std::string> UserIds(const std::vector<GroupMember>& members) {
  std::vector<std::string> ids;
  ids.reserve(members.size());
  for (const GroupMember& m : members) ids.push_back(m.user_id);
  return ids;
}

bool Contains(const std::vector<GroupMember>& members, const std::string& user) {
  return std::any_of(members.begin(), members.end(), [&](const GroupMember& m) { return m.user_id == user; });
}

// The most user ids one request may list: the largest configurable group. The configured limit is
// checked after duplicates and existing members are discounted, so its error can say group_full.
constexpr std::size_t kMaxListedUsers = 10000;

Status NotOwner() { return Status::Error(ErrorCode::kNotAllowed, "only the group's owner can do this"); }

}  // namespace

Status GroupService::Handle(const Caller& caller, RequestOp op, const RequestFields& request, Outbox& outbox) {
  switch (op) {
    case RequestOp::kGroupCreate: return Create(caller, request, outbox);
    case RequestOp::kGroupAdd: return Add(caller, request, outbox);
    case RequestOp::kGroupRemove: return Remove(caller, request, outbox);
    case RequestOp::kGroupLeave: return Leave(caller, request, outbox);
    case RequestOp::kGroupRename: return Rename(caller, request, outbox);
    case RequestOp::kGroups: return List(caller, request, outbox);
    case RequestOp::kGroupMembers: return Members(caller, request, outbox);
    default: break;
  }
  return Status::Error(ErrorCode::kBadRequest, "unknown request");
}

Status GroupService::CheckRoomForAnotherGroup(const std::string& user) {
  Result<std::vector<std::string>> groups = context_.store.ListUserGroups(user);
  if (!groups.ok()) return groups.status();
  if (groups->size() >= context_.limits.max_groups_per_user) {
    return Status::Error(ErrorCode::kNotAllowed, user + " is in " + std::to_string(groups->size()) +
                                                     " groups, the most one user may join");
  }
  return Status::Ok();
}

Status GroupService::CheckName(const std::string& name) const {
  std::optional<std::size_t> chars = CountUtf8CodePoints(name);
  if (!chars || *chars == 0 || *chars > context_.limits.max_group_name_chars) {
    return Status::Error(ErrorCode::kBadRequest, "name must be 1 to " +
                                                     std::to_string(context_.limits.max_group_name_chars) +
                                                     " characters");
  }
  return Status::Ok();
}

Result<GroupService::Loaded> GroupService::LoadForCaller(const Caller& caller, const RequestFields& request) {
  std::string group_id;
  if (Status s = request.RequiredString("group", &group_id); !s.ok()) return s;
  if (!caller.is_admin) {
    if (Status s = context_.CheckMember(group_id, std::string(caller.user_id)); !s.ok()) return s;
  }
  Result<std::optional<GroupRecord>> group = context_.store.GetGroup(group_id);
  if (!group.ok()) return group.status();
  if (!*group) return Status::Error(ErrorCode::kNotFound, "no such group, or not a member");
  Result<std::vector<GroupMember>> members = context_.store.ListMembers(group_id);
  if (!members.ok()) return members.status();
  return Loaded{std::move(**group), std::move(*members)};
}

Status GroupService::Publish(const Caller& caller, WriteSet& writes, const std::string& event,
                             const std::vector<std::string>& audience, Outbox& outbox, std::string reply) {
  QueueEntry entry{QueueEntry::Kind::kEvent, {}, 0, event, context_.clock.NowMillis()};
  Fanout fanout(context_.seqs);
  if (Status s = fanout.AddAll(audience, entry, event, &writes); !s.ok()) return s;
  if (Status s = context_.Commit(writes, fanout, outbox); !s.ok()) return s;
  context_.Reply(caller, outbox, std::move(reply));
  return Status::Ok();
}

Status GroupService::Create(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  GroupRecord group;
  if (Status s = request.RequiredString("name", &group.name); !s.ok()) return s;
  if (Status s = CheckName(group.name); !s.ok()) return s;
  std::vector<std::string> invited;
  if (Status s = request.OptionalStringList("members", kMaxListedUsers, &invited); !s.ok()) return s;
  std::string me(caller.user_id);
  std::set<std::string> unique(invited.begin(), invited.end());
  unique.insert(me);
  if (unique.size() > context_.limits.max_group_members) {
    return Status::Error(ErrorCode::kGroupFull,
                         "a group has at most " + std::to_string(context_.limits.max_group_members) + " members");
  }
  for (const std::string& user : unique) {
    if (Status s = context_.CheckUser(user); !s.ok()) return s;
    if (Status s = CheckRoomForAnotherGroup(user); !s.ok()) return s;
  }
  std::int64_t now = context_.clock.NowMillis();
  group.group_id = FormatMessageId(context_.ids.Next());
  group.owner = me;
  group.created_at_ms = now;
  WriteSet writes;
  writes.groups.push_back(group);
  std::vector<GroupMember> members;
  for (const std::string& user : unique) {
    // The creator joined first: ownership passes by join time if the owner leaves.
    members.push_back({user, user == me ? now : now + 1});
    writes.members_added.push_back({group.group_id, user, members.back().joined_at_ms});
  }
  writes.group_accepts.push_back({group.group_id, me, now});
  std::vector<std::string> users(unique.begin(), unique.end());
  std::string event = GroupEventJson(group, "created", me, users, now);
  return Publish(caller, writes, event, users, outbox, GroupJson(request.tag(), group, members));
}

Status GroupService::Add(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  Result<Loaded> loaded = LoadForCaller(caller, request);
  if (!loaded.ok()) return loaded.status();
  if (loaded->group.owner != caller.user_id && !caller.is_admin) return NotOwner();
  std::vector<std::string> requested;
  if (!request.Has("users")) return Status::Error(ErrorCode::kBadRequest, "users is required");
  if (Status s = request.OptionalStringList("users", kMaxListedUsers, &requested); !s.ok()) return s;
  std::set<std::string> added;
  for (const std::string& user : requested) {
    if (Status s = context_.CheckUser(user); !s.ok()) return s;
    if (Contains(loaded->members, user)) continue;
    if (Status s = CheckRoomForAnotherGroup(user); !s.ok()) return s;
    added.insert(user);
  }
  if (loaded->members.size() + added.size() > context_.limits.max_group_members) {
    return Status::Error(ErrorCode::kGroupFull, "a group has at most " +
                                                    std::to_string(context_.limits.max_group_members) +
                                                    " members; nobody was added");
  }
  std::int64_t now = context_.clock.NowMillis();
  WriteSet writes;
  std::vector<std::string> audience = UserIds(loaded->members);
  for (const std::string& user : added) {
    writes.members_added.push_back({loaded->group.group_id, user, now});
    loaded->members.push_back({user, now});
    audience.push_back(user);
  }
  std::sort(loaded->members.begin(), loaded->members.end(),
            [](const GroupMember& a, const GroupMember& b) { return a.user_id < b.user_id; });
  std::string event = GroupEventJson(loaded->group, "added", caller.user_id,
                                     std::vector<std::string>(added.begin(), added.end()), now);
  std::string reply = GroupJson(request.tag(), loaded->group, loaded->members);
  if (added.empty()) {
    context_.Reply(caller, outbox, std::move(reply));
    return Status::Ok();
  }
  return Publish(caller, writes, event, audience, outbox, std::move(reply));
}

Status GroupService::Remove(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  Result<Loaded> loaded = LoadForCaller(caller, request);
  if (!loaded.ok()) return loaded.status();
  if (loaded->group.owner != caller.user_id && !caller.is_admin) return NotOwner();
  std::string user;
  if (Status s = request.RequiredString("user", &user); !s.ok()) return s;
  if (!Contains(loaded->members, user)) return Status::Error(ErrorCode::kNotFound, user + " is not a member");
  if (user == loaded->group.owner) {
    return Status::Error(ErrorCode::kNotAllowed, "the owner cannot be removed; the owner can leave");
  }
  std::int64_t now = context_.clock.NowMillis();
  WriteSet writes;
  writes.members_removed.push_back({loaded->group.group_id, user, 0});
  // The removed member hears of it too; from then on they are in no recipient list.
  std::vector<std::string> audience = UserIds(loaded->members);
  std::erase_if(loaded->members, [&](const GroupMember& m) { return m.user_id == user; });
  std::string event = GroupEventJson(loaded->group, "removed", caller.user_id, {user}, now);
  return Publish(caller, writes, event, audience, outbox, GroupJson(request.tag(), loaded->group, loaded->members));
}

Status GroupService::Leave(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  Result<Loaded> loaded = LoadForCaller(caller, request);
  if (!loaded.ok()) return loaded.status();
  std::string me(caller.user_id);
  if (!Contains(loaded->members, me)) return Status::Error(ErrorCode::kNotFound, "no such group, or not a member");
  std::int64_t now = context_.clock.NowMillis();
  WriteSet writes;
  writes.members_removed.push_back({loaded->group.group_id, me, 0});
  std::vector<std::string> audience = UserIds(loaded->members);
  std::erase_if(loaded->members, [&](const GroupMember& m) { return m.user_id == me; });
  if (loaded->group.owner == me && !loaded->members.empty()) {
    auto successor = std::min_element(loaded->members.begin(), loaded->members.end(),
                                      [](const GroupMember& a, const GroupMember& b) {
                                        return a.joined_at_ms != b.joined_at_ms ? a.joined_at_ms < b.joined_at_ms
                                                                                : a.user_id < b.user_id;
                                      });
    loaded->group.owner = successor->user_id;
    writes.groups.push_back(loaded->group);
  }
  std::string event = GroupEventJson(loaded->group, "left", me, {me}, now);
  return Publish(caller, writes, event, audience, outbox, OkJson("group_leave", request.tag()));
}

Status GroupService::Rename(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  Result<Loaded> loaded = LoadForCaller(caller, request);
  if (!loaded.ok()) return loaded.status();
  std::string name;
  if (Status s = request.RequiredString("name", &name); !s.ok()) return s;
  if (Status s = CheckName(name); !s.ok()) return s;
  loaded->group.name = name;
  WriteSet writes;
  writes.groups.push_back(loaded->group);
  std::string event = GroupEventJson(loaded->group, "renamed", caller.user_id, {}, context_.clock.NowMillis());
  return Publish(caller, writes, event, UserIds(loaded->members), outbox,
                 GroupJson(request.tag(), loaded->group, loaded->members));
}

Status GroupService::List(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  Result<std::vector<std::string>> ids = context_.store.ListUserGroups(std::string(caller.user_id));
  if (!ids.ok()) return ids.status();
  std::vector<GroupSummary> groups;
  for (const std::string& id : *ids) {
    Result<std::optional<GroupRecord>> group = context_.store.GetGroup(id);
    if (!group.ok()) return group.status();
    if (!*group) continue;
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(id);
    if (!members.ok()) return members.status();
    groups.push_back({std::move(**group), members->size()});
  }
  context_.Reply(caller, outbox, GroupsJson(request.tag(), groups));
  return Status::Ok();
}

Status GroupService::Members(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  Result<Loaded> loaded = LoadForCaller(caller, request);
  if (!loaded.ok()) return loaded.status();
  context_.Reply(caller, outbox, GroupJson(request.tag(), loaded->group, loaded->members));
  return Status::Ok();
}

}  // namespace chat::core
