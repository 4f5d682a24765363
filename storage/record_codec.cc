#include "storage/record_codec.h"

#include "storage/binary_fields.h"
#include "storage/key_format.h"

namespace chat::storage {
namespace {

constexpr char kUserVersion = 2;  // 1: before the history floor
constexpr char kMessageVersion = 3;  // 1: before groups (no group id); 2: before edits, deletes, mentions
constexpr char kGroupVersion = 1;
constexpr char kQueueEntryVersion = 1;
constexpr char kPushVersion = 1;
// 2 added the id of the job's newest message (a version 1 job reads as 0: not known).
constexpr char kPushJobVersion = 2;
constexpr char kInviteVersion = 1;
constexpr char kResumeTokenVersion = 1;

core::Status Corrupt(const char* what) { return core::Status::Error(core::ErrorCode::kCorruption, what); }

}  // namespace

std::string EncodeUser(const core::UserRecord& user) {
  std::string out(1, kUserVersion);
  PutVarint(user.password.iterations, &out);
  PutString(user.password.salt, &out);
  PutString(user.password.digest, &out);
  out.push_back(user.is_admin ? 1 : 0);
  PutVarint(static_cast<std::uint64_t>(user.created_at_ms), &out);
  PutVarint(user.history_floor, &out);
  return out;
}

core::Status DecodeUser(std::string_view user_id, std::string_view bytes, core::UserRecord* out) {
  Reader in(bytes);
  char version = in.Byte();
  if (version != kUserVersion && version != 1) return Corrupt("unknown user record version");
  out->user_id = std::string(user_id);
  out->password.iterations = static_cast<std::uint32_t>(in.Varint());
  out->password.salt = in.String();
  out->password.digest = in.String();
  out->is_admin = in.Byte() != 0;
  out->created_at_ms = static_cast<std::int64_t>(in.Varint());
  out->history_floor = version >= 2 ? in.Varint() : 0;
  if (!in.ok()) return Corrupt("truncated user record");
  return core::Status::Ok();
}

std::string EncodeMessage(const core::StoredMessage& message) {
  std::string out(1, kMessageVersion);
  PutString(message.from, &out);
  PutString(message.to, &out);
  PutString(message.group_id, &out);
  PutVarint(static_cast<std::uint64_t>(message.created_at_ms), &out);
  PutString(message.client_message_id, &out);
  PutString(message.text, &out);
  PutVarint(static_cast<std::uint64_t>(message.edited_at_ms), &out);
  PutString(message.deleted_by, &out);
  PutVarint(message.mentions.size(), &out);
  for (const std::string& user : message.mentions) PutString(user, &out);
  out.push_back(message.mentions_all ? 1 : 0);
  return out;
}

core::Status DecodeMessage(core::MessageId id, std::string_view bytes, core::StoredMessage* out) {
  Reader in(bytes);
  char version = in.Byte();
  if (version < 1 || version > kMessageVersion) return Corrupt("unknown message record version");
  out->id = id;
  out->from = in.String();
  out->to = in.String();
  if (version >= 2) out->group_id = in.String();
  out->created_at_ms = static_cast<std::int64_t>(in.Varint());
  out->client_message_id = in.String();
  out->text = in.String();
  if (version >= 3) {
    out->edited_at_ms = static_cast<std::int64_t>(in.Varint());
    out->deleted_by = in.String();
    std::uint64_t mentions = in.Varint();
    if (mentions > bytes.size()) return Corrupt("bad message record");  // each takes a byte at least
    out->mentions.clear();
    for (std::uint64_t i = 0; i < mentions && in.ok(); ++i) out->mentions.push_back(in.String());
    out->mentions_all = in.Byte() != 0;
  }
  if (!in.ok()) return Corrupt("truncated message record");
  return core::Status::Ok();
}

core::Status DecodeMessageSender(std::string_view bytes, std::string* from) {
  Reader in(bytes);
  char version = in.Byte();
  if (version < 1 || version > kMessageVersion) return Corrupt("unknown message record version");
  *from = in.String();
  if (!in.ok()) return Corrupt("truncated message record");
  return core::Status::Ok();
}

std::string EncodeInvite(const core::GroupInvite& invite) {
  std::string out(1, kInviteVersion);
  PutString(invite.by, &out);
  PutVarint(static_cast<std::uint64_t>(invite.at_ms), &out);
  return out;
}

core::Status DecodeInvite(std::string_view user_id, std::string_view group_id, std::string_view bytes,
                          core::GroupInvite* out) {
  Reader in(bytes);
  if (in.Byte() != kInviteVersion) return Corrupt("unknown invite record version");
  out->user_id = std::string(user_id);
  out->group_id = std::string(group_id);
  out->by = in.String();
  out->at_ms = static_cast<std::int64_t>(in.Varint());
  if (!in.ok()) return Corrupt("truncated invite record");
  return core::Status::Ok();
}

std::string EncodeGroup(const core::GroupRecord& group) {
  std::string out(1, kGroupVersion);
  PutString(group.name, &out);
  PutString(group.owner, &out);
  PutVarint(static_cast<std::uint64_t>(group.created_at_ms), &out);
  return out;
}

core::Status DecodeGroup(std::string_view group_id, std::string_view bytes, core::GroupRecord* out) {
  Reader in(bytes);
  if (in.Byte() != kGroupVersion) return Corrupt("unknown group record version");
  out->group_id = std::string(group_id);
  out->name = in.String();
  out->owner = in.String();
  out->created_at_ms = static_cast<std::int64_t>(in.Varint());
  if (!in.ok()) return Corrupt("truncated group record");
  return core::Status::Ok();
}

std::string EncodePushToken(const core::PushToken& token) {
  std::string out(1, kPushVersion);
  PutString(token.provider, &out);
  PutString(token.token, &out);
  PutString(token.platform, &out);
  return out;
}

core::Status DecodePushToken(std::string_view device_id, std::string_view bytes, core::PushToken* out) {
  Reader in(bytes);
  if (in.Byte() != kPushVersion) return Corrupt("unknown push token version");
  out->device_id = std::string(device_id);
  out->provider = in.String();
  out->token = in.String();
  out->platform = in.String();
  if (!in.ok()) return Corrupt("truncated push token");
  return core::Status::Ok();
}

std::string EncodeResumeToken(const core::ResumeToken& token) {
  std::string out(1, kResumeTokenVersion);
  PutString(token.digest, &out);
  PutVarint(static_cast<std::uint64_t>(token.issued_at_ms), &out);
  return out;
}

core::Status DecodeResumeToken(std::string_view device_id, std::string_view bytes, core::ResumeToken* out) {
  Reader in(bytes);
  if (in.Byte() != kResumeTokenVersion) return Corrupt("unknown resume token version");
  out->device_id = std::string(device_id);
  out->digest = in.String();
  out->issued_at_ms = static_cast<std::int64_t>(in.Varint());
  if (!in.ok()) return Corrupt("truncated resume token");
  return core::Status::Ok();
}

std::string EncodePushJob(const core::PushJob& job) {
  std::string out(1, kPushJobVersion);
  PutString(job.user_id, &out);
  PutString(job.from, &out);
  out.push_back(static_cast<char>(job.conversation.kind));
  PutString(job.conversation.key, &out);
  PutVarint(job.count, &out);
  PutString(job.preview, &out);
  PutVarint(static_cast<std::uint64_t>(job.created_at_ms), &out);
  PutVarint(job.message_id, &out);
  return out;
}

core::Status DecodePushJob(core::MessageId job_id, std::string_view bytes, core::PushJob* out) {
  Reader in(bytes);
  char version = in.Byte();
  if (version != 1 && version != kPushJobVersion) return Corrupt("unknown push job version");
  out->job_id = job_id;
  out->user_id = in.String();
  out->from = in.String();
  out->conversation.kind = static_cast<core::Conversation::Kind>(in.Byte());
  out->conversation.key = in.String();
  out->count = static_cast<std::uint32_t>(in.Varint());
  out->preview = in.String();
  out->created_at_ms = static_cast<std::int64_t>(in.Varint());
  out->message_id = version == 1 ? 0 : in.Varint();
  if (!in.ok()) return Corrupt("truncated push job");
  return core::Status::Ok();
}

std::string EncodeQueueEntry(const core::QueueEntry& entry) {
  std::string out(1, kQueueEntryVersion);
  out.push_back(static_cast<char>(entry.kind));
  PutVarint(static_cast<std::uint64_t>(entry.created_at_ms), &out);
  if (entry.kind != core::QueueEntry::Kind::kEvent) {
    out.push_back(static_cast<char>(entry.conversation.kind));
    PutString(entry.conversation.key, &out);
    PutVarint(entry.message_id, &out);
  } else {
    PutString(entry.event_json, &out);
  }
  return out;
}

core::Status DecodeQueueEntry(std::string_view bytes, core::QueueEntry* out) {
  Reader in(bytes);
  if (in.Byte() != kQueueEntryVersion) return Corrupt("unknown queue entry version");
  out->kind = static_cast<core::QueueEntry::Kind>(in.Byte());
  out->created_at_ms = static_cast<std::int64_t>(in.Varint());
  if (out->kind == core::QueueEntry::Kind::kMessage || out->kind == core::QueueEntry::Kind::kChange) {
    out->conversation.kind = static_cast<core::Conversation::Kind>(in.Byte());
    out->conversation.key = in.String();
    out->message_id = in.Varint();
  } else if (out->kind == core::QueueEntry::Kind::kEvent) {
    out->event_json = in.String();
  } else {
    return Corrupt("unknown queue entry kind");
  }
  if (!in.ok()) return Corrupt("truncated queue entry");
  return core::Status::Ok();
}

}  // namespace chat::storage
