// Every MQTT topic the chat protocol uses, defined once. docs/PROTOCOL.md describes them for clients.
#pragma once

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

// Request operations (the <op> of a request topic).
enum class RequestOp {
  kUnknown,
  kSend,
  kHistory,
  kSync,
  kRead,
  kConversations,
  kGroupCreate,
  kGroupAdd,
  kGroupRemove,
  kGroupLeave,
  kGroupRename,
  kGroups,
  kGroupMembers,
  kGroupJoin,
  kGroupDecline,
  kContactRequest,
  kContactAccept,
  kContactRemove,
  kContacts,
  kPresence,
  kTyping,
  kHeartbeat,
  kBye,
  kPushRegister,
  kPushUnregister,
  kMute,
  kPushResult,
};

// Returns the op of a request topic, or kUnknown for any other topic (including unknown ops).
RequestOp ParseRequestTopic(std::string_view topic);
const char* RequestOpName(RequestOp op);
std::string RequestTopic(RequestOp op);

std::string UserTopic(std::string_view user_id, std::string_view kind);
std::string PresenceTopic(std::string_view user_id);

}  // namespace chat::core
