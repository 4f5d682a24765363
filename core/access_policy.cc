#include "core/access_policy.h"

#include "core/names.h"
#include "core/topic_format.h"

namespace chat::core {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// True when `topic` (a concrete topic or a filter) lies entirely under "chat/v1/user/<user>/".
bool IsUnderOwnPrefix(std::string_view user_id, std::string_view topic) {
  if (!StartsWith(topic, kUserPrefix)) return false;
  topic.remove_prefix(kUserPrefix.size());
  return topic.size() > user_id.size() && StartsWith(topic, user_id) && topic[user_id.size()] == '/';
}

// The filters a client may subscribe to under its own prefix: everything, one level, or one kind.
bool IsOwnFilter(std::string_view user_id, std::string_view filter) {
  if (!IsUnderOwnPrefix(user_id, filter)) return false;
  std::string_view rest = filter.substr(kUserPrefix.size() + user_id.size() + 1);
  return rest == "#" || rest == "+" || rest == kMessageKind || rest == kReplyKind;
}

// The push job topic, plain or as a shared subscription "$share/<group>/...".
bool IsPushJobsFilter(std::string_view filter) {
  constexpr std::string_view kShare = "$share/";
  if (StartsWith(filter, kShare)) {
    std::string_view rest = filter.substr(kShare.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return false;
    filter = rest.substr(slash + 1);
  }
  return filter == kPushJobsTopic;
}

bool AdminMayReceive(std::string_view topic) {
  return topic == kAccountsControlResponseTopic || topic == kAdminControlResponseTopic || StartsWith(topic, "$SYS/");
}

}  // namespace

bool IsAllowed(const Identity& who, TopicAccess access, std::string_view topic, bool retain,
               std::optional<RequestOp> request) {
  if (who.user_id.empty()) return false;
  switch (access) {
    case TopicAccess::kUnsubscribe:
      return true;
    case TopicAccess::kWrite:
      // Retained publishes are refused outright: a retained request (or a client's will, which skips
      // the MESSAGE event) would park one user's text in the broker.
      if (retain) return false;
      if ((request ? *request : ParseRequestTopic(topic)) != RequestOp::kUnknown) return true;
      return who.is_admin && (topic == kAccountsControlTopic || topic == kAdminControlTopic);
    case TopicAccess::kSubscribe:
      if (IsOwnFilter(who.user_id, topic)) return true;
      if (who.is_service && IsPushJobsFilter(topic)) return true;
      return who.is_admin && AdminMayReceive(topic);
    case TopicAccess::kRead:
      if (who.is_service && topic == kPushJobsTopic) return true;
      if (IsUnderOwnPrefix(who.user_id, topic)) return true;
      return who.is_admin && AdminMayReceive(topic);
  }
  return false;
}

bool MayQueueForOfflineSession(std::string_view user_id, TopicAccess access, std::string_view topic) {
  return access == TopicAccess::kRead && !user_id.empty() && IsUnderOwnPrefix(user_id, topic);
}

bool MayConnectionAccess(const Identity& who, bool is_reaper, TopicAccess access, std::string_view topic, bool retain,
                         std::optional<RequestOp> request,
                         const std::function<bool(std::string_view subject)>& may_watch) {
  if (is_reaper) return false;
  if (auto subject = PresenceSubject(topic)) {
    if (access == TopicAccess::kUnsubscribe) return true;
    if (access == TopicAccess::kWrite) return false;
    return may_watch(*subject);
  }
  return IsAllowed(who, access, topic, retain, request);
}

std::optional<std::string_view> PresenceSubject(std::string_view topic) {
  if (!StartsWith(topic, kPresencePrefix)) return std::nullopt;
  std::string_view user = topic.substr(kPresencePrefix.size());
  if (!ValidateUserId(user).ok()) return std::nullopt;  // also refuses '+', '#' and deeper levels
  return user;
}

}  // namespace chat::core
