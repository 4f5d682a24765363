// Who may publish, subscribe to and receive which topic: the decision behind MOSQ_EVT_ACL_CHECK.
#pragma once

#include <string_view>

namespace chat::core {

enum class TopicAccess { kRead, kWrite, kSubscribe, kUnsubscribe };

struct Identity {
  std::string_view user_id;  // the authenticated username
  bool is_admin = false;
};

// Deny by default. Ordinary users may publish only to known request topics and subscribe to / receive
// only topics under their own "chat/v1/user/<me>/" prefix, so '#', '+' and $share filters can never
// reach another user's topics, $SYS or $CONTROL. Admins may also use the accounts control topics and
// read $SYS. Pure function of its inputs; cheap enough to run per delivered message.
bool IsAllowed(const Identity& who, TopicAccess access, std::string_view topic);

}  // namespace chat::core
