#include "core/group_service.h"

#include <algorithm>
#include <optional>
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

Status GroupService::Publish(const Request& r, const std::string& event, const std::vector<std::string>& audience,
                             std::string reply, const std::vector<Notice>& notices) {
  if (Status s = Deliver(r.tx, event, audience, notices); !s.ok()) return s;
  r.Reply(std::move(reply));
  return Status::Ok();
}

Status GroupService::Deliver(Transaction& tx, const std::string& event, const std::vector<std::string>& audience,
                             const std::vector<Notice>& notices) {
  std::int64_t now = context_.clock.NowMillis();
  QueueEntry entry{QueueEntry::Kind::kEvent, {}, 0, event, now};
  if (Status s = tx.DeliverAll(audience, entry, event); !s.ok()) return s;
  for (const Notice& notice : notices) {
    QueueEntry own{QueueEntry::Kind::kEvent, {}, 0, notice.event, now};
    if (Status s = tx.Deliver(notice.user, own, notice.event); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<bool> GroupService::AddsDirectly(const Caller& caller, const std::string& user) {
  if (caller.is_admin || user == caller.user_id) return true;
  Result<ContactState> contact = context_.store.GetContact(std::string(caller.user_id), user);
  if (!contact.ok()) return contact.status();
  return *contact == ContactState::kContact;
}

Result<bool> GroupService::CheckInvitable(const Caller& caller, const std::string& user, const std::string& group_id) {
  Result<std::vector<GroupInvite>> waiting = context_.store.ListInvites(user);
  if (!waiting.ok()) return waiting.status();
  bool from_caller = false;
  for (const GroupInvite& invite : *waiting) {
    if (invite.group_id == group_id) return false;  // invited already: nothing new
    from_caller = from_caller || invite.by == caller.user_id;
  }
  // The inviter is stopped, not the invitee: one unanswered invitation per inviter, and a bound on all.
  if (from_caller) {
    return Status::Error(ErrorCode::kNotAllowed, user + " has not answered your last invitation yet");
  }
  if (waiting->size() >= context_.limits.max_pending_invites) {
    return Status::Error(ErrorCode::kNotAllowed, user + " has too many invitations waiting");
  }
  return true;
}

Status GroupService::Create(const Request& r) {
  GroupRecord group;
  if (Status s = r.fields.RequiredString("name", &group.name); !s.ok()) return s;
  if (Status s = CheckName(group.name); !s.ok()) return s;
  std::vector<std::string> listed;
  if (Status s = r.fields.OptionalStringList("members", kMaxListedUsers, &listed); !s.ok()) return s;
  std::string me(r.caller.user_id);
  std::int64_t now = context_.clock.NowMillis();
  group.group_id = FormatMessageId(context_.NewId(r.tx));
  group.owner = me;
  group.created_at_ms = now;
  std::set<std::string> unique(listed.begin(), listed.end());
  unique.insert(me);
  std::set<std::string> added;
  std::vector<std::string> invited;
  for (const std::string& user : unique) {
    if (Status s = context_.CheckUser(user); !s.ok()) return s;
    Result<bool> direct = AddsDirectly(r.caller, user);
    if (!direct.ok()) return direct.status();
    if (*direct) {
      added.insert(user);
      continue;
    }
    Result<bool> invitable = CheckInvitable(r.caller, user, group.group_id);
    if (!invitable.ok()) return invitable.status();
    if (*invitable) invited.push_back(user);
  }
  if (added.size() > context_.limits.max_group_members) {
    return Status::Error(ErrorCode::kGroupFull,
                         "a group has at most " + std::to_string(context_.limits.max_group_members) + " members");
  }
  for (const std::string& user : added) {
    if (Status s = CheckRoomForAnotherGroup(user); !s.ok()) return s;
  }
  WriteSet& writes = r.tx.writes;
  writes.groups.push_back(group);
  std::vector<GroupMember> members;
  for (const std::string& user : added) {
    // The creator joined first: ownership passes by join time if the owner leaves.
    members.push_back({user, user == me ? now : now + 1});
    writes.members_added.push_back({group.group_id, user, members.back().joined_at_ms});
  }
  writes.group_accepts.push_back({group.group_id, me, now});
  std::vector<Notice> notices = Invite(group, me, invited, now, &writes);
  std::vector<std::string> users(added.begin(), added.end());
  std::string event = GroupEventJson(group, "created", me, users, now);
  return Publish(r, event, users, GroupJson(r.fields.tag(), group, members, invited), notices);
}

std::vector<GroupService::Notice> GroupService::Invite(const GroupRecord& group, const std::string& by,
                                                       const std::vector<std::string>& users, std::int64_t now,
                                                       WriteSet* writes) {
  std::vector<Notice> notices;
  for (const std::string& user : users) {
    writes->invites_added.push_back({group.group_id, user, by, now});
    notices.push_back({user, GroupEventJson(group, "invited", by, {user}, now)});
  }
  return notices;
}

Status GroupService::Add(const Request& r) {
  Result<Loaded> loaded = LoadForCaller(r.caller, r.fields);
  if (!loaded.ok()) return loaded.status();
  if (loaded->group.owner != r.caller.user_id && !r.caller.is_admin) return NotOwner();
  std::vector<std::string> requested;
  if (!r.fields.Has("users")) return Status::Error(ErrorCode::kBadRequest, "users is required");
  if (Status s = r.fields.OptionalStringList("users", kMaxListedUsers, &requested); !s.ok()) return s;
  std::set<std::string> added;
  std::vector<std::string> invited;
  for (const std::string& user : std::set<std::string>(requested.begin(), requested.end())) {
    if (Status s = context_.CheckUser(user); !s.ok()) return s;
    if (Contains(loaded->members, user)) continue;
    Result<bool> direct = AddsDirectly(r.caller, user);
    if (!direct.ok()) return direct.status();
    if (!*direct) {
      Result<bool> invitable = CheckInvitable(r.caller, user, loaded->group.group_id);
      if (!invitable.ok()) return invitable.status();
      if (*invitable) invited.push_back(user);
      continue;
    }
    if (Status s = CheckRoomForAnotherGroup(user); !s.ok()) return s;
    added.insert(user);
  }
  if (loaded->members.size() + added.size() > context_.limits.max_group_members) {
    return Status::Error(ErrorCode::kGroupFull, "a group has at most " +
                                                    std::to_string(context_.limits.max_group_members) +
                                                    " members; nobody was added");
  }
  std::int64_t now = context_.clock.NowMillis();
  WriteSet& writes = r.tx.writes;
  std::vector<std::string> audience = UserIds(loaded->members);
  for (const std::string& user : added) {
    writes.members_added.push_back({loaded->group.group_id, user, now});
    loaded->members.push_back({user, now});
    audience.push_back(user);
  }
  std::sort(loaded->members.begin(), loaded->members.end(),
            [](const GroupMember& a, const GroupMember& b) { return a.user_id < b.user_id; });
  std::string reply = GroupJson(r.fields.tag(), loaded->group, loaded->members, invited);
  if (added.empty() && invited.empty()) {
    r.Reply(std::move(reply));
    return Status::Ok();
  }
  std::vector<Notice> notices = Invite(loaded->group, std::string(r.caller.user_id), invited, now, &writes);
  // Members hear of who was added; an invitation is news to its invitee only.
  std::string event = GroupEventJson(loaded->group, "added", r.caller.user_id,
                                     std::vector<std::string>(added.begin(), added.end()), now);
  return Publish(r, event, added.empty() ? std::vector<std::string>() : audience,
                 std::move(reply), notices);
}

Result<std::string> GroupService::InvitationFor(const Caller& caller, const RequestFields& request) {
  std::string group_id;
  if (Status s = request.RequiredString("group", &group_id); !s.ok()) return s;
  Result<std::vector<GroupInvite>> waiting = context_.store.ListInvites(std::string(caller.user_id));
  if (!waiting.ok()) return waiting.status();
  if (std::none_of(waiting->begin(), waiting->end(), [&](const GroupInvite& i) { return i.group_id == group_id; })) {
    return Status::Error(ErrorCode::kNotFound, "no invitation to this group");
  }
  return group_id;
}

Status GroupService::Join(const Request& r) {
  Result<std::string> invited_to = InvitationFor(r.caller, r.fields);
  if (!invited_to.ok()) return invited_to.status();
  const std::string& group_id = *invited_to;
  std::string me(r.caller.user_id);
  Result<std::optional<GroupRecord>> group = context_.store.GetGroup(group_id);
  if (!group.ok()) return group.status();
  Result<std::vector<GroupMember>> members = context_.store.ListMembers(group_id);
  if (!members.ok()) return members.status();
  if (!*group || members->empty()) {
    // The group is gone (or nobody is left in it): the invitation goes with it, though the join fails.
    Transaction cleanup(context_.seqs);
    cleanup.writes.invites_removed.push_back({group_id, me, 0});
    context_.Commit(std::move(cleanup), r.outbox);
    return Status::Error(ErrorCode::kNotFound, "no such group, or not a member");
  }
  WriteSet& writes = r.tx.writes;
  writes.invites_removed.push_back({group_id, me, 0});
  if (members->size() >= context_.limits.max_group_members) {
    return Status::Error(ErrorCode::kGroupFull, "a group has at most " +
                                                    std::to_string(context_.limits.max_group_members) + " members");
  }
  if (Status s = CheckRoomForAnotherGroup(me); !s.ok()) return s;
  std::int64_t now = context_.clock.NowMillis();
  // Joining is no taking part (see WriteSet::group_accepts): presence is shared once the member posts.
  writes.members_added.push_back({group_id, me, now});
  std::vector<std::string> audience = UserIds(*members);
  audience.push_back(me);
  members->push_back({me, now});
  std::sort(members->begin(), members->end(),
            [](const GroupMember& a, const GroupMember& b) { return a.user_id < b.user_id; });
  std::string event = GroupEventJson(**group, "joined", me, {me}, now);
  return Publish(r, event, audience, GroupJson(r.fields.tag(), **group, *members));
}

Status GroupService::Decline(const Request& r) {
  Result<std::string> invited_to = InvitationFor(r.caller, r.fields);
  if (!invited_to.ok()) return invited_to.status();
  const std::string& group_id = *invited_to;
  std::string me(r.caller.user_id);
  WriteSet& writes = r.tx.writes;
  writes.invites_removed.push_back({group_id, me, 0});
  // The user's other devices drop the invitation too.
  GroupRecord named{group_id, "", "", 0};
  Result<std::optional<GroupRecord>> group = context_.store.GetGroup(group_id);
  if (group.ok() && *group) named = **group;
  std::string event = GroupEventJson(named, "declined", me, {me}, context_.clock.NowMillis());
  return Publish(r, event, {me}, OkJson("group_decline", r.fields.tag()));
}

Status GroupService::Remove(const Request& r) {
  Result<Loaded> loaded = LoadForCaller(r.caller, r.fields);
  if (!loaded.ok()) return loaded.status();
  if (loaded->group.owner != r.caller.user_id && !r.caller.is_admin) return NotOwner();
  std::string user;
  if (Status s = r.fields.RequiredString("user", &user); !s.ok()) return s;
  if (!Contains(loaded->members, user)) return Status::Error(ErrorCode::kNotFound, user + " is not a member");
  if (user == loaded->group.owner) {
    return Status::Error(ErrorCode::kNotAllowed, "the owner cannot be removed; the owner can leave");
  }
  std::int64_t now = context_.clock.NowMillis();
  WriteSet& writes = r.tx.writes;
  writes.members_removed.push_back({loaded->group.group_id, user, 0});
  writes.took_part_removed.push_back({loaded->group.group_id, user, 0});
  // The removed member hears of it too; from then on they are in no recipient list.
  std::vector<std::string> audience = UserIds(loaded->members);
  std::erase_if(loaded->members, [&](const GroupMember& m) { return m.user_id == user; });
  std::string event = GroupEventJson(loaded->group, "removed", r.caller.user_id, {user}, now);
  return Publish(r, event, audience, GroupJson(r.fields.tag(), loaded->group, loaded->members));
}

Status GroupService::Leave(const Request& r) {
  Result<Loaded> loaded = LoadForCaller(r.caller, r.fields);
  if (!loaded.ok()) return loaded.status();
  std::string me(r.caller.user_id);
  if (!Contains(loaded->members, me)) return Status::Error(ErrorCode::kNotFound, "no such group, or not a member");
  if (Status s = Depart(me, *loaded, r.tx); !s.ok()) return s;
  r.Reply(OkJson("group_leave", r.fields.tag()));
  return Status::Ok();
}

Status GroupService::Depart(const std::string& user_id, Loaded& loaded, Transaction& tx) {
  std::int64_t now = context_.clock.NowMillis();
  WriteSet& writes = tx.writes;
  writes.members_removed.push_back({loaded.group.group_id, user_id, 0});
  writes.took_part_removed.push_back({loaded.group.group_id, user_id, 0});
  std::vector<std::string> audience = UserIds(loaded.members);
  std::erase_if(loaded.members, [&](const GroupMember& m) { return m.user_id == user_id; });
  if (loaded.group.owner == user_id && !loaded.members.empty()) {
    auto successor = std::min_element(loaded.members.begin(), loaded.members.end(),
                                      [](const GroupMember& a, const GroupMember& b) {
                                        return a.joined_at_ms != b.joined_at_ms ? a.joined_at_ms < b.joined_at_ms
                                                                                : a.user_id < b.user_id;
                                      });
    loaded.group.owner = successor->user_id;
    writes.groups.push_back(loaded.group);
  }
  std::string event = GroupEventJson(loaded.group, "left", user_id, {user_id}, now);
  return Deliver(tx, event, audience);
}

Status GroupService::LeaveAll(const std::string& user_id, Outbox& outbox) {
  Result<std::vector<std::string>> groups = context_.store.ListUserGroups(user_id);
  if (!groups.ok()) return groups.status();
  for (const std::string& group_id : *groups) {
    Result<std::optional<GroupRecord>> group = context_.store.GetGroup(group_id);
    if (!group.ok()) return group.status();
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(group_id);
    if (!members.ok()) return members.status();
    if (!*group) continue;
    Loaded loaded{std::move(**group), std::move(*members)};
    Transaction tx(context_.seqs);
    if (Status s = Depart(user_id, loaded, tx); !s.ok()) return s;
    if (Status s = context_.CommitNow(std::move(tx), outbox); !s.ok()) return s;
  }
  // Invitations go too: nobody is left to answer them.
  Result<std::vector<GroupInvite>> invites = context_.store.ListInvites(user_id);
  if (!invites.ok()) return invites.status();
  Transaction tx(context_.seqs);
  for (const GroupInvite& invite : *invites) tx.writes.invites_removed.push_back({invite.group_id, user_id, 0});
  return context_.CommitNow(std::move(tx), outbox);
}

Status GroupService::Rename(const Request& r) {
  Result<Loaded> loaded = LoadForCaller(r.caller, r.fields);
  if (!loaded.ok()) return loaded.status();
  std::string name;
  if (Status s = r.fields.RequiredString("name", &name); !s.ok()) return s;
  if (Status s = CheckName(name); !s.ok()) return s;
  loaded->group.name = name;
  WriteSet& writes = r.tx.writes;
  writes.groups.push_back(loaded->group);
  std::string event = GroupEventJson(loaded->group, "renamed", r.caller.user_id, {}, context_.clock.NowMillis());
  return Publish(r, event, UserIds(loaded->members),
                 GroupJson(r.fields.tag(), loaded->group, loaded->members));
}

Status GroupService::List(const Request& r) {
  std::string me(r.caller.user_id);
  Result<std::vector<std::string>> ids = context_.store.ListUserGroups(me);
  if (!ids.ok()) return ids.status();
  std::vector<GroupSummary> groups;
  for (const std::string& id : *ids) {
    Result<std::optional<GroupRecord>> group = context_.store.GetGroup(id);
    if (!group.ok()) return group.status();
    if (!*group) continue;
    Result<std::size_t> members = context_.store.CountMembers(id, context_.limits.max_group_members);
    if (!members.ok()) return members.status();
    groups.push_back({std::move(**group), *members});
  }
  Result<std::vector<GroupInvite>> waiting = context_.store.ListInvites(me);
  if (!waiting.ok()) return waiting.status();
  std::vector<InviteSummary> invites;
  for (GroupInvite& invite : *waiting) {
    Result<std::optional<GroupRecord>> group = context_.store.GetGroup(invite.group_id);
    if (!group.ok()) return group.status();
    if (!*group) continue;
    invites.push_back({std::move(invite), (*group)->name});
  }
  r.Reply(GroupsJson(r.fields.tag(), groups, invites));
  return Status::Ok();
}

Status GroupService::Members(const Request& r) {
  Result<Loaded> loaded = LoadForCaller(r.caller, r.fields);
  if (!loaded.ok()) return loaded.status();
  r.Reply(GroupJson(r.fields.tag(), loaded->group, loaded->members));
  return Status::Ok();
}

}  // namespace chat::core
