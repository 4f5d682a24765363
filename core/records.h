// The records the chat server keeps: accounts and messages (the seed's message table).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/message_id.h"

namespace chat::core {

// A salted PBKDF2-HMAC-SHA256 password hash.
struct PasswordHash {
  std::uint32_t iterations = 0;
  std::string salt;    // raw bytes
  std::string digest;  // raw bytes
};

struct UserRecord {
  std::string user_id;
  PasswordHash password;
  bool is_admin = false;
  std::int64_t created_at_ms = 0;
};

// One 1:1 message: message_id, from, to, content, created_at.
struct StoredMessage {
  MessageId id = 0;
  std::string from;
  std::string to;
  std::string text;
  std::int64_t created_at_ms = 0;
  std::string client_message_id;  // the sender's idempotency key; empty when none was given
};

// The conversation between two users, independent of who sends: "<lower>:<higher>" (':' cannot occur
// in a user id, so the key is unambiguous).
std::string DirectConversationKey(const std::string& a, const std::string& b);

// Which slice of a conversation to read. Bounds are exclusive; 0 means unbounded.
struct HistoryQuery {
  MessageId after = 0;
  MessageId before = 0;
  std::size_t limit = 50;
  bool newest_first = true;  // scan down from `before` (true) or up from `after` (false)
};

struct MessagePage {
  std::vector<StoredMessage> messages;  // in the requested order
  bool more = false;                    // messages remain in the range beyond this page
};

}  // namespace chat::core
