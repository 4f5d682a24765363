// Every MQTT topic the chat protocol uses, defined once. docs/PROTOCOL.md describes them for clients.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chat::core {

// Client -> server requests: "chat/v1/req/<op>". Nobody may subscribe under this prefix.
inline constexpr std::string_view kRequestPrefix = "chat/v1/req/";
// Server -> client: "chat/v1/user/<user>/<kind>". Only <user> may subscribe or receive.
inline constexpr std::string_view kUserPrefix = "chat/v1/user/";
// Kinds under a user's prefix.
inline constexpr std::string_view kMessageKind = "msg";    // messages to or from the user, for every device
inline constexpr std::string_view kReplyKind = "reply";    // acks, errors, pages: to the asking device only

// Presence: "chat/v1/presence/<user>", retained, published by the server only; readable by the user's
// contacts and small-group co-members.
inline constexpr std::string_view kPresencePrefix = "chat/v1/presence/";

// Push jobs for the push bridge; service accounts only (often as $share/<group>/...).
inline constexpr std::string_view kPushJobsTopic = "chat/v1/service/push/jobs";

// Operator account administration, after Mosquitto's own $CONTROL/<feature>/v1 convention.
inline constexpr std::string_view kAccountsControlTopic = "$CONTROL/chat-accounts/v1";
inline constexpr std::string_view kAccountsControlResponseTopic = "$CONTROL/chat-accounts/v1/response";
// Operator tasks on the running server (an online backup).
inline constexpr std::string_view kAdminControlTopic = "$CONTROL/chat-admin/v1";
inline constexpr std::string_view kAdminControlResponseTopic = "$CONTROL/chat-admin/v1/response";

// Request operations: the one list of every request type and the <op> of its topic
// "chat/v1/req/<op>". Adding a request: a line here, a row in ChatService's request table (its handler
// and rate class), the handler, and docs/PROTOCOL.md.
#define CHAT_REQUEST_OPS(X)                \
  X(kSend, "send")                         \
  X(kHistory, "history")                   \
  X(kSync, "sync")                         \
  X(kRead, "read")                         \
  X(kConversations, "conversations")       \
  X(kGroupCreate, "group_create")          \
  X(kGroupAdd, "group_add")                \
  X(kGroupRemove, "group_remove")          \
  X(kGroupLeave, "group_leave")            \
  X(kGroupRename, "group_rename")          \
  X(kGroups, "groups")                     \
  X(kGroupMembers, "group_members")        \
  X(kGroupJoin, "group_join")              \
  X(kGroupDecline, "group_decline")        \
  X(kContactRequest, "contact_request")    \
  X(kContactAccept, "contact_accept")      \
  X(kContactRemove, "contact_remove")      \
  X(kContacts, "contacts")                 \
  X(kPresence, "presence")                 \
  X(kTyping, "typing")                     \
  X(kHeartbeat, "heartbeat")               \
  X(kBye, "bye")                           \
  X(kPushRegister, "push_register")        \
  X(kPushUnregister, "push_unregister")    \
  X(kMute, "mute")                         \
  X(kPushResult, "push_result")            \
  X(kResumeToken, "resume_token")          \
  X(kEdit, "edit")                         \
  X(kDelete, "delete")                     \
  X(kSearch, "search")                     \
  X(kMentions, "mentions")

enum class RequestOp {
  kUnknown,
#define CHAT_REQUEST_OP_ENUM(op, name) op,
  CHAT_REQUEST_OPS(CHAT_REQUEST_OP_ENUM)
#undef CHAT_REQUEST_OP_ENUM
};

// How many request types there are (kUnknown not counted); RequestOp values run from 1 to this.
#define CHAT_REQUEST_OP_ONE(op, name) +1
inline constexpr std::size_t kRequestOpCount = 0 CHAT_REQUEST_OPS(CHAT_REQUEST_OP_ONE);
#undef CHAT_REQUEST_OP_ONE

// Returns the op of a request topic, or kUnknown for any other topic (including unknown ops). One hash
// lookup: it runs for every incoming publish.
RequestOp ParseRequestTopic(std::string_view topic);
const char* RequestOpName(RequestOp op);
std::string RequestTopic(RequestOp op);

std::string UserTopic(std::string_view user_id, std::string_view kind);
std::string PresenceTopic(std::string_view user_id);

}  // namespace chat::core
