#include "core/access_policy.h"

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

// A shared subscription "$share/<group>/<filter>" is judged by its <filter>.
std::string_view StripSharePrefix(std::string_view filter) {
  constexpr std::string_view kShare = "$share/";
  if (!StartsWith(filter, kShare)) return filter;
  std::string_view rest = filter.substr(kShare.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  return rest.substr(slash + 1);
}

bool AdminMayReceive(std::string_view topic) {
  return topic == kAccountsControlResponseTopic || StartsWith(topic, "$SYS/");
}

}  // namespace

bool IsAllowed(const Identity& who, TopicAccess access, std::string_view topic) {
  if (who.user_id.empty()) return false;
  switch (access) {
    case TopicAccess::kUnsubscribe:
      return true;
    case TopicAccess::kWrite:
      if (ParseRequestTopic(topic) != RequestOp::kUnknown) return true;
      return who.is_admin && topic == kAccountsControlTopic;
    case TopicAccess::kSubscribe:
      topic = StripSharePrefix(topic);
      [[fallthrough]];
    case TopicAccess::kRead:
      if (IsUnderOwnPrefix(who.user_id, topic)) return true;
      return who.is_admin && AdminMayReceive(topic);
  }
  return false;
}

}  // namespace chat::core
