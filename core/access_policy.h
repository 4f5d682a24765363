// Who may publish, subscribe to and receive which topic: the decision behind MOSQ_EVT_ACL_CHECK.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "core/topic_format.h"

namespace chat::core {

enum class TopicAccess { kRead, kWrite, kSubscribe, kUnsubscribe };

struct Identity {
  std::string_view user_id;  // the authenticated username
  bool is_admin = false;
  bool is_service = false;  // a push bridge account (push.service_accounts)
};

// Deny by default. Ordinary users may publish (never retained) only to known request topics, subscribe
// only to the exact filters a client needs under their own "chat/v1/user/<me>/" prefix (no $share, so
// the subscription tree stays small and no shared-subscription tricks apply), and receive only topics
// under that prefix: '#', '+', $SYS and $CONTROL filters never reach another user's topics. Admins may
// also use the accounts control topics and read $SYS. A pure function of its inputs, cheap enough to run
// for every delivered message. `retain` is the publish's retain flag (for kWrite). `request`: for
// kWrite, the topic already parsed with ParseRequestTopic (the caller keeps it for the MESSAGE event
// that follows, so a request's topic is parsed once); parsed here when not given.
bool IsAllowed(const Identity& who, TopicAccess access, std::string_view topic, bool retain = false,
               std::optional<RequestOp> request = std::nullopt);

// Whether the broker may queue a message on `topic` for an offline persistent session that logged in
// as `user_id`: it may receive (nothing else) what arrives under that user's own prefix. Whether the
// session began with clean start does not matter: an MQTT 5 session with clean start and an expiry
// interval outlives its connection just as a 3.1.1 persistent one does.
bool MayQueueForOfflineSession(std::string_view user_id, TopicAccess access, std::string_view topic);

// The whole decision for a live connection: IsAllowed, plus the presence topics, which only the plugin
// publishes and which `who` may read or subscribe to when `may_watch(subject)` says so (it depends on
// contacts and groups). The session reaper's connection (`is_reaper`) may do nothing at all.
bool MayConnectionAccess(const Identity& who, bool is_reaper, TopicAccess access, std::string_view topic, bool retain,
                         std::optional<RequestOp> request,
                         const std::function<bool(std::string_view subject)>& may_watch);

// The user whose presence `topic` is ("chat/v1/presence/<user>", exactly, no wildcard), or nullopt for any
// other topic or filter. Who may watch that user is the presence service's decision, not a static rule.
std::optional<std::string_view> PresenceSubject(std::string_view topic);

}  // namespace chat::core
