#include "core/topic_format.h"

namespace chat::core {

namespace {

constexpr RequestOp kAllOps[] = {
    RequestOp::kSend,     RequestOp::kHistory,     RequestOp::kSync,        RequestOp::kRead,
    RequestOp::kConversations, RequestOp::kGroupCreate, RequestOp::kGroupAdd, RequestOp::kGroupRemove,
    RequestOp::kGroupLeave, RequestOp::kGroupRename, RequestOp::kGroups,    RequestOp::kGroupMembers, RequestOp::kGroupJoin,
    RequestOp::kGroupDecline,
    RequestOp::kContactRequest, RequestOp::kContactAccept, RequestOp::kContactRemove, RequestOp::kContacts,
    RequestOp::kPresence, RequestOp::kTyping, RequestOp::kHeartbeat, RequestOp::kBye,
    RequestOp::kPushRegister, RequestOp::kPushUnregister, RequestOp::kMute, RequestOp::kPushResult,
};

}  // namespace

RequestOp ParseRequestTopic(std::string_view topic) {
  if (topic.substr(0, kRequestPrefix.size()) != kRequestPrefix) return RequestOp::kUnknown;
  std::string_view op = topic.substr(kRequestPrefix.size());
  for (RequestOp candidate : kAllOps) {
    if (op == RequestOpName(candidate)) return candidate;
  }
  return RequestOp::kUnknown;
}

const char* RequestOpName(RequestOp op) {
  switch (op) {
    case RequestOp::kSend: return "send";
    case RequestOp::kHistory: return "history";
    case RequestOp::kSync: return "sync";
    case RequestOp::kRead: return "read";
    case RequestOp::kConversations: return "conversations";
    case RequestOp::kGroupCreate: return "group_create";
    case RequestOp::kGroupAdd: return "group_add";
    case RequestOp::kGroupRemove: return "group_remove";
    case RequestOp::kGroupLeave: return "group_leave";
    case RequestOp::kGroupRename: return "group_rename";
    case RequestOp::kGroups: return "groups";
    case RequestOp::kGroupMembers: return "group_members";
    case RequestOp::kGroupJoin: return "group_join";
    case RequestOp::kGroupDecline: return "group_decline";
    case RequestOp::kContactRequest: return "contact_request";
    case RequestOp::kContactAccept: return "contact_accept";
    case RequestOp::kContactRemove: return "contact_remove";
    case RequestOp::kContacts: return "contacts";
    case RequestOp::kPresence: return "presence";
    case RequestOp::kTyping: return "typing";
    case RequestOp::kHeartbeat: return "heartbeat";
    case RequestOp::kBye: return "bye";
    case RequestOp::kPushRegister: return "push_register";
    case RequestOp::kPushUnregister: return "push_unregister";
    case RequestOp::kMute: return "mute";
    case RequestOp::kPushResult: return "push_result";
    case RequestOp::kUnknown: break;
  }
  return "unknown";
}

std::string RequestTopic(RequestOp op) { return std::string(kRequestPrefix) + RequestOpName(op); }

std::string UserTopic(std::string_view user_id, std::string_view kind) {
  std::string topic;
  topic.reserve(kUserPrefix.size() + user_id.size() + 1 + kind.size());
  topic.append(kUserPrefix).append(user_id).append("/").append(kind);
  return topic;
}

std::string PresenceTopic(std::string_view user_id) { return std::string(kPresencePrefix).append(user_id); }

}  // namespace chat::core
