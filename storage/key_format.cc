#include "storage/key_format.h"

namespace chat::storage {
namespace {

// "<table><a>\0" : the prefix of every key of `a` in `table`.
std::string Scoped(std::string_view table, std::string_view a) {
  std::string key(table);
  key.append(a).push_back('\0');
  return key;
}

}  // namespace

void AppendBigEndian64(std::uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((value >> shift) & 0xFF));
}

std::uint64_t ReadBigEndian64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::uint64_t TrailingNumber(std::string_view key) { return ReadBigEndian64(key.substr(key.size() - 8)); }

std::string PrefixEnd(std::string_view prefix) {
  // Every prefix used here ends in '\0' or '/', never in 0xFF, so incrementing the last byte suffices.
  std::string end(prefix);
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

std::string UserKey(std::string_view user_id) { return std::string(kUserPrefix).append(user_id); }

std::string ConversationPrefix(const core::Conversation& conversation) {
  return Scoped(conversation.is_group() ? kGroupMessagePrefix : kDirectMessagePrefix, conversation.key);
}

std::string MessageKey(const core::Conversation& conversation, core::MessageId id) {
  std::string key = ConversationPrefix(conversation);
  AppendBigEndian64(id, &key);
  return key;
}

std::string ClientMessageIdKey(std::string_view sender, std::string_view client_message_id) {
  return Scoped("c/", sender).append(client_message_id);
}

std::string GroupKey(std::string_view group_id) { return std::string(kGroupPrefix).append(group_id); }
std::string MemberPrefix(std::string_view group_id) { return Scoped("gmem/", group_id); }
std::string MemberKey(std::string_view group_id, std::string_view user_id) {
  return MemberPrefix(group_id).append(user_id);
}
std::string TookPartPrefix(std::string_view group_id) { return Scoped("gpart/", group_id); }
std::string TookPartKey(std::string_view group_id, std::string_view user_id) {
  return TookPartPrefix(group_id).append(user_id);
}
std::string InvitePrefix(std::string_view user_id) { return Scoped("ginv/", user_id); }
std::string InviteKey(std::string_view user_id, std::string_view group_id) {
  return InvitePrefix(user_id).append(group_id);
}
std::string UserGroupPrefix(std::string_view user_id) { return Scoped("ugrp/", user_id); }
std::string UserGroupKey(std::string_view user_id, std::string_view group_id) {
  return UserGroupPrefix(user_id).append(group_id);
}

std::string QueuePrefix(std::string_view user_id) { return Scoped(kQueueTablePrefix, user_id); }
std::string QueueKey(std::string_view user_id, std::uint64_t seq) {
  std::string key = QueuePrefix(user_id);
  AppendBigEndian64(seq, &key);
  return key;
}

std::string ReadPositionPrefix(std::string_view user_id) { return Scoped("rd/", user_id); }
std::string ReadPositionKey(std::string_view user_id, const core::Conversation& conversation) {
  std::string key = ReadPositionPrefix(user_id);
  key.push_back(static_cast<char>(conversation.kind));
  return key.append(conversation.key);
}

std::string PeerPrefix(std::string_view user_id) { return Scoped("peer/", user_id); }
std::string PeerKey(std::string_view user_id, std::string_view peer) { return PeerPrefix(user_id).append(peer); }

std::string InboxPrefix(std::string_view user_id) { return Scoped("ib/", user_id); }
std::string InboxKey(std::string_view user_id, const core::InboxEntry& entry) {
  std::string key = InboxPrefix(user_id);
  AppendBigEndian64(entry.activity, &key);
  key.push_back(static_cast<char>(entry.conversation.kind));
  return key.append(entry.conversation.key);
}
core::InboxEntry InboxEntryOf(std::string_view suffix) {
  core::InboxEntry entry;
  entry.activity = ReadBigEndian64(suffix);
  entry.conversation.kind = static_cast<core::Conversation::Kind>(suffix[8]);
  entry.conversation.key = std::string(suffix.substr(9));
  return entry;
}
std::string GroupActivityKey(std::string_view group_id) { return std::string("gact/").append(group_id); }
std::string MentionPrefix(std::string_view user_id) { return Scoped(kMentionTablePrefix, user_id); }
std::string MentionKey(std::string_view user_id, core::MessageId id) {
  std::string key = MentionPrefix(user_id);
  AppendBigEndian64(id, &key);
  return key;
}

std::string ContactPrefix(std::string_view user_id) { return Scoped("ct/", user_id); }
std::string ContactKey(std::string_view user_id, std::string_view other) {
  return ContactPrefix(user_id).append(other);
}
std::string LastActiveKey(std::string_view user_id) { return std::string("la/").append(user_id); }

std::string PushTokenPrefix(std::string_view user_id) { return Scoped("pt/", user_id); }
std::string PushTokenKey(std::string_view user_id, std::string_view device_id) {
  return PushTokenPrefix(user_id).append(device_id);
}
std::string ResumeTokenPrefix(std::string_view user_id) { return Scoped("rt/", user_id); }
std::string ResumeTokenKey(std::string_view user_id, std::string_view device_id) {
  return ResumeTokenPrefix(user_id).append(device_id);
}
std::string PushJobKey(core::MessageId job_id) {
  std::string key(kPushJobPrefix);
  AppendBigEndian64(job_id, &key);
  return key;
}
std::string LogOutboxKey(core::MessageId change_id) {
  std::string key(kLogOutboxPrefix);
  AppendBigEndian64(change_id, &key);
  return key;
}
std::string MuteKey(std::string_view user_id, const core::Conversation& conversation) {
  std::string key = Scoped("mu/", user_id);
  key.push_back(static_cast<char>(conversation.kind));
  return key.append(conversation.key);
}

std::vector<std::string> UserRecordPrefixes(std::string_view user_id) {
  return {Scoped("rd/", user_id),   PeerPrefix(user_id),    ContactPrefix(user_id),
          PushTokenPrefix(user_id), Scoped("mu/", user_id), InvitePrefix(user_id), ResumeTokenPrefix(user_id),
          InboxPrefix(user_id), MentionPrefix(user_id)};
}

std::string QueueFloorKey(std::string_view user_id) { return std::string("qf/").append(user_id); }

}  // namespace chat::storage
