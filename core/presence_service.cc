#include "core/presence_service.h"

#include <algorithm>
#include <unordered_set>

namespace chat::core {
namespace {

constexpr std::int64_t kExpiryCheckMs = 100;
constexpr std::size_t kMaxQueriedUsers = 1000;

}  // namespace

PresenceService::PresenceService(ServiceContext& context, const PresenceSettings& settings)
    : context_(context),
      settings_(settings),
      tracker_(context.clock, static_cast<std::int64_t>(settings.timeout_seconds) * 1000),
      watch_(context.store, settings.push_group_limit) {}

void PresenceService::Publish(const PresenceChange& change, Outbox& outbox) {
  // last_active_at is stored on every change, not on every heartbeat: one write per login or logout.
  // It is advisory (a restart forgets nobody's live state), so the change is published at once.
  outbox.Retained(PresenceTopic(change.user_id), PresenceJson({change.user_id, change.online, change.last_active_ms}));
  (change.online ? context_.metrics.presence_online : context_.metrics.presence_offline).Add();
  Transaction tx(context_.seqs);
  tx.writes.last_active.push_back({change.user_id, change.last_active_ms});
  context_.Commit(std::move(tx), outbox, LaterSends::kMayPass);
}

void PresenceService::OnConnected(const std::string& user_id, Outbox& outbox) {
  if (auto change = tracker_.Connected(user_id)) Publish(*change, outbox);
}

void PresenceService::OnDisconnected(const std::string& user_id, bool clean, Outbox& outbox) {
  if (auto change = tracker_.Disconnected(user_id, clean)) Publish(*change, outbox);
}

void PresenceService::Forget(const std::string& user_id, Outbox& outbox) {
  tracker_.Forget(user_id);
  watch_.Forget({user_id});
  outbox.Retained(PresenceTopic(user_id), "");  // an empty retained message removes the retained one
}

void PresenceService::OnTick(Outbox& outbox) {
  std::int64_t now = context_.clock.MonotonicMillis();
  if (now < next_expiry_check_ms_) return;
  next_expiry_check_ms_ = now + kExpiryCheckMs;
  for (const PresenceChange& change : tracker_.Expire()) Publish(change, outbox);
}

Status PresenceService::Bye(const Request& r) {
  r.Reply(OkJson("bye", r.fields.tag()));
  return Status::Ok();
}

Status PresenceService::Query(const Request& r) {
  std::string me(r.caller.user_id);
  std::vector<std::string> users;
  std::unordered_set<std::string> took_part;
  if (r.fields.Has("group")) {
    // Entering a group: one request returns the state of every member who took part in it (or whom the
    // caller may watch anyway), whatever the group's size.
    std::string group;
    if (Status s = r.fields.RequiredString("group", &group); !s.ok()) return s;
    if (Status s = context_.CheckMember(group, me); !s.ok()) return s;
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(group);
    if (!members.ok()) return members.status();
    for (const GroupMember& m : *members) users.push_back(m.user_id);
    Result<std::vector<std::string>> active = context_.store.ListTookPart(group);
    if (!active.ok()) return active.status();
    took_part.insert(active->begin(), active->end());
  } else if (Status s = r.fields.OptionalStringList("users", kMaxQueriedUsers, &users); !s.ok()) {
    return s;
  }
  std::vector<PresenceState> states;
  std::unordered_set<std::string> answered;
  for (const std::string& user : users) {
    // Users the caller may not watch are left out rather than reported offline; each name once.
    if (!answered.insert(user).second) continue;
    if (!took_part.count(user) && !MayWatch(me, user)) continue;
    PresenceState state{user, tracker_.IsOnline(user), 0};
    Result<std::int64_t> last = context_.store.GetLastActive(user);
    if (last.ok()) state.last_active_ms = *last;
    states.push_back(std::move(state));
  }
  r.Reply(PresenceListJson(r.fields.tag(), states));
  return Status::Ok();
}

Status PresenceService::Typing(const Request& r) {
  std::string me(r.caller.user_id);
  Result<Target> target = context_.TargetOf(r.caller, r.fields, "to");
  if (!target.ok()) return target.status();
  std::vector<std::string> recipients;
  if (target->is_group()) {
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(target->conversation.key);
    if (!members.ok()) return members.status();
    for (const GroupMember& m : *members) {
      if (m.user_id != me) recipients.push_back(m.user_id);
    }
  } else {
    // Someone who has not let the caller see their presence does not see them typing either.
    if (!MayWatch(me, target->peer)) {
      return Status::Error(ErrorCode::kNotAllowed, "typing is shown only to contacts and small-group co-members");
    }
    recipients.push_back(target->peer);
  }
  if (Status s = r.rate.Take(me); !s.ok()) return s;
  std::string event = TypingEventJson(me, target->conversation, target->peer);
  for (const std::string& user : recipients) r.tx.Ephemeral(UserTopic(user, kMessageKind), event);
  return Status::Ok();
}

}  // namespace chat::core
