// Mentions: "@name" in a group message names a member (they get the message flagged, find it in their
// list of mentions, and are notified even where they muted the group); "@all", which only the group's
// owner may write, names every member.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/records.h"
#include "core/status.h"

namespace chat::core {

// The names written as "@name" in `text` ("@" not after a letter or digit, then a user id's characters;
// a name's trailing dots are tried without them as well, since a sentence may end right after it), and
// whether "@all" is among them.
struct WrittenMentions {
  std::vector<std::string> names;  // each once, in order
  bool all = false;
};
WrittenMentions FindMentions(std::string_view text);

// Sets `message.mentions` and `mentions_all` from its text: the members among the names (its sender
// never), or every member for "@all". kNotAllowed for "@all" from anyone but `owner`.
Status ResolveMentions(const std::vector<std::string>& members, const std::string& owner, StoredMessage* message);

// Whether `message` mentions `user_id`.
bool Mentions(const StoredMessage& message, const std::string& user_id);

}  // namespace chat::core
