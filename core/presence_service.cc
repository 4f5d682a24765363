#include "core/presence_service.h"

#include <algorithm>

namespace chat::core {
namespace {

constexpr std::int64_t kExpiryCheckMs = 100;
constexpr std::size_t kMaxQueriedUsers = 1000;
// Bounds the cache of watch permissions; when full it is emptied and refilled on demand.
constexpr std::size_t kMaxCachedPermissions = 1000000;

}  // namespace

PresenceService::PresenceService(ServiceContext& context, const PresenceSettings& settings)
    : context_(context),
      settings_(settings),
      tracker_(context.clock, static_cast<std::int64_t>(settings.timeout_seconds) * 1000),
      typing_rate_(context.clock, settings.typing_rate_per_second, settings.typing_burst) {}

void PresenceService::Publish(const PresenceChange& change, Outbox& outbox) {
  // last_active_at is stored on every change, not on every heartbeat: one write per login or logout.
  WriteSet writes;
  writes.last_active.push_back({change.user_id, change.last_active_ms});
  IgnoreError(context_.store.Apply(writes), "last_active_at is advisory; the live state is still published");
  outbox.Retained(PresenceTopic(change.user_id), PresenceJson({change.user_id, change.online, change.last_active_ms}));
}

void PresenceService::OnConnected(const std::string& user_id, Outbox& outbox) {
  if (auto change = tracker_.Connected(user_id)) Publish(*change, outbox);
}

void PresenceService::OnDisconnected(const std::string& user_id, bool clean, Outbox& outbox) {
  if (auto change = tracker_.Disconnected(user_id, clean)) Publish(*change, outbox);
}

void PresenceService::OnTick(Outbox& outbox) {
  std::int64_t now = context_.clock.MonotonicMillis();
  if (now < next_expiry_check_ms_) return;
  next_expiry_check_ms_ = now + kExpiryCheckMs;
  for (const PresenceChange& change : tracker_.Expire()) Publish(change, outbox);
}

Result<bool> PresenceService::ShareSmallGroup(const std::string& a, const std::string& b) {
  if (settings_.push_group_limit == 0) return false;
  Result<std::vector<std::string>> groups_a = context_.store.ListUserGroups(a);
  if (!groups_a.ok()) return groups_a.status();
  for (const std::string& group : *groups_a) {
    // `b` (the watched user) must have taken part in the group: being added is no consent.
    if (!context_.store.CheckMember(group, b).ok() || !context_.store.CheckTookPart(group, b).ok()) continue;
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(group);
    if (!members.ok()) return members.status();
    if (members->size() <= settings_.push_group_limit) return true;
  }
  return false;
}

bool PresenceService::MayWatch(const std::string& viewer, const std::string& user_id) {
  if (viewer == user_id) return true;
  std::string key = viewer;
  key.push_back('\0');
  key.append(user_id);
  if (allowed_.count(key)) return true;
  Result<ContactState> contact = context_.store.GetContact(viewer, user_id);
  bool allowed = contact.ok() && *contact == ContactState::kContact;
  if (!allowed) {
    Result<bool> shared = ShareSmallGroup(viewer, user_id);
    allowed = shared.ok() && *shared;
  }
  if (!allowed) return false;  // refusals are not cached: a new contact counts at once
  if (allowed_.size() >= kMaxCachedPermissions) allowed_.clear();
  allowed_.insert(std::move(key));
  return true;
}

Status PresenceService::Handle(const Caller& caller, RequestOp op, const RequestFields& request, Outbox& outbox) {
  switch (op) {
    case RequestOp::kPresence: return Query(caller, request, outbox);
    case RequestOp::kTyping: return Typing(caller, request, outbox);
    case RequestOp::kHeartbeat: return Status::Ok();  // the activity was recorded on arrival
    case RequestOp::kBye:
      context_.Reply(caller, outbox, OkJson("bye", request.tag()));
      return Status::Ok();
    default: break;
  }
  return Status::Error(ErrorCode::kBadRequest, "unknown request");
}

Status PresenceService::Query(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  std::string me(caller.user_id);
  std::vector<std::string> users;
  std::string group;
  bool whole_group = request.Has("group");
  if (whole_group) {
    // Entering a group: one request returns the state of every member who took part in it (or whom the
    // caller may watch anyway), whatever the group's size.
    if (Status s = request.RequiredString("group", &group); !s.ok()) return s;
    if (Status s = context_.CheckMember(group, me); !s.ok()) return s;
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(group);
    if (!members.ok()) return members.status();
    for (const GroupMember& m : *members) users.push_back(m.user_id);
  } else if (Status s = request.OptionalStringList("users", kMaxQueriedUsers, &users); !s.ok()) {
    return s;
  }
  std::vector<PresenceState> states;
  for (const std::string& user : users) {
    // Users the caller may not watch are left out rather than reported offline.
    bool visible = whole_group && context_.store.CheckTookPart(group, user).ok();
    if (!visible && !MayWatch(me, user)) continue;
    PresenceState state{user, tracker_.IsOnline(user), 0};
    Result<std::int64_t> last = context_.store.GetLastActive(user);
    if (last.ok()) state.last_active_ms = *last;
    states.push_back(std::move(state));
  }
  context_.Reply(caller, outbox, PresenceListJson(request.tag(), states));
  return Status::Ok();
}

Status PresenceService::Typing(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  std::string me(caller.user_id);
  std::vector<std::string> recipients;
  Conversation conversation;
  std::string peer;
  if (request.Has("group")) {
    std::string group;
    if (Status s = request.RequiredString("group", &group); !s.ok()) return s;
    if (Status s = context_.CheckMember(group, me); !s.ok()) return s;
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(group);
    if (!members.ok()) return members.status();
    for (const GroupMember& m : *members) {
      if (m.user_id != me) recipients.push_back(m.user_id);
    }
    conversation = Conversation::Group(group);
  } else {
    if (Status s = request.RequiredString("to", &peer); !s.ok()) {
      return Status::Error(ErrorCode::kBadRequest, "to or group is required");
    }
    if (Status s = context_.CheckUser(peer); !s.ok()) return s;
    recipients.push_back(peer);
    conversation = Conversation::Direct(me, peer);
  }
  if (!typing_rate_.TryAcquire(me)) return Status::Error(ErrorCode::kRateLimited, "typing indicators too fast");
  std::string event = TypingEventJson(me, conversation, peer);
  for (const std::string& user : recipients) outbox.Ephemeral(UserTopic(user, kMessageKind), event);
  return Status::Ok();
}

}  // namespace chat::core
