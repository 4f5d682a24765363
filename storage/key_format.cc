#include "storage/key_format.h"

namespace chat::storage {

void AppendBigEndian64(std::uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((value >> shift) & 0xFF));
}

std::uint64_t ReadBigEndian64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::string UserKey(std::string_view user_id) {
  std::string key(kUserPrefix);
  key.append(user_id);
  return key;
}

std::string ConversationPrefix(std::string_view conversation_key) {
  std::string key = "m/";
  key.append(conversation_key).push_back('\0');
  return key;
}

std::string ConversationEnd(std::string_view conversation_key) {
  std::string key = ConversationPrefix(conversation_key);
  key.back() = '\x01';
  return key;
}

std::string MessageKey(std::string_view conversation_key, core::MessageId id) {
  std::string key = ConversationPrefix(conversation_key);
  AppendBigEndian64(id, &key);
  return key;
}

core::MessageId MessageIdFromKey(std::string_view key) { return ReadBigEndian64(key.substr(key.size() - 8)); }

std::string ClientMessageIdKey(std::string_view sender, std::string_view client_message_id) {
  std::string key = "c/";
  key.append(sender).push_back('\0');
  key.append(client_message_id);
  return key;
}

}  // namespace chat::storage
