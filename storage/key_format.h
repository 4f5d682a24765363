// The RocksDB key layout, defined once (docs/STORAGE.md describes it). Every key starts with a one-
// letter table prefix; integers are big-endian so byte order is numeric order.
//
//   u/<user_id>                         -> UserRecord                 (accounts)
//   m/<a>:<b>\0<message_id:be64>         -> StoredMessage              (1:1 messages, a < b)
//   c/<sender>\0<cmid>                   -> <message_id:be64>          (send idempotency)
//   x/largest_message_id                 -> <message_id:be64>          (id generator floor)
//
// A conversation's messages share one prefix, so a page is one range scan in id order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/message_id.h"

namespace chat::storage {

std::string UserKey(std::string_view user_id);
inline constexpr std::string_view kUserPrefix = "u/";

// The prefix shared by every message of a conversation, and one message's key.
std::string ConversationPrefix(std::string_view conversation_key);
// The first key after every message of the conversation (an exclusive upper bound).
std::string ConversationEnd(std::string_view conversation_key);
std::string MessageKey(std::string_view conversation_key, core::MessageId id);
// The id at the end of a message key (the last 8 bytes).
core::MessageId MessageIdFromKey(std::string_view key);

std::string ClientMessageIdKey(std::string_view sender, std::string_view client_message_id);
inline constexpr std::string_view kLargestMessageIdKey = "x/largest_message_id";

void AppendBigEndian64(std::uint64_t value, std::string* out);
std::uint64_t ReadBigEndian64(std::string_view bytes);  // bytes.size() must be >= 8

}  // namespace chat::storage
