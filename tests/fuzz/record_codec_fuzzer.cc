// Stored records as the store decodes them, and change records as a node reads them from the replicated
// log: a torn, corrupt or older-version value must be refused (kCorruption) or decoded into a record that
// encodes and decodes back to itself, never crash or produce more than the bytes held. Every decoder
// reads the same input; the keys the decoded records would be stored under are checked too.
#include <functional>
#include <string>

#include "storage/change_record.h"
#include "storage/key_format.h"
#include "storage/record_codec.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat::storage {
namespace {

using core::Status;

// A record from `bytes` re-encodes to bytes no larger than the input, but for the empty fields an older
// version lacked (a version 1 message gains a group id, a version 2 one edited_at, deleted_by, its
// mention count and the @all flag: a byte each), that decode to a record with the same encoding:
// nothing is lost or invented. Returns whether `bytes` decoded.
template <typename Record>
bool CheckRoundTrip(std::string_view bytes, const std::function<Status(std::string_view, Record*)>& decode,
                    const std::function<std::string(const Record&)>& encode, Record* decoded) {
  if (!decode(bytes, decoded).ok()) return false;
  std::string encoded = encode(*decoded);
  FUZZ_CHECK(encoded.size() <= bytes.size() + 5);
  Record again;
  FUZZ_CHECK(decode(encoded, &again).ok());
  FUZZ_CHECK(encode(again) == encoded);
  return true;
}

// Ids and seqs end their keys big-endian, so a range scan of the prefix finds them in order.
void CheckNumberedKey(const std::string& prefix, const std::string& key, std::uint64_t number) {
  FUZZ_CHECK(key.size() == prefix.size() + 8 && key.compare(0, prefix.size(), prefix) == 0);
  FUZZ_CHECK(TrailingNumber(key) == number);
  FUZZ_CHECK(prefix < key && key < PrefixEnd(prefix));
}

void CheckMessage(std::string_view bytes, core::MessageId id) {
  core::StoredMessage message;
  bool decoded = CheckRoundTrip<core::StoredMessage>(
      bytes, [id](std::string_view b, core::StoredMessage* out) { return DecodeMessage(id, b, out); }, EncodeMessage,
      &message);
  std::string sender;
  Status sender_status = DecodeMessageSender(bytes, &sender);
  if (!decoded) return;
  FUZZ_CHECK(message.id == id);
  // Counting unread messages reads only the sender: it must be the message's.
  FUZZ_CHECK(sender_status.ok() && sender == message.from);
  core::Conversation conversation = message.conversation();
  CheckNumberedKey(ConversationPrefix(conversation), MessageKey(conversation, id), id);
}

void CheckQueueEntry(std::string_view bytes, std::uint64_t seq) {
  core::QueueEntry entry;
  if (!CheckRoundTrip<core::QueueEntry>(bytes, DecodeQueueEntry, EncodeQueueEntry, &entry)) return;
  FUZZ_CHECK(entry.kind == core::QueueEntry::Kind::kMessage || entry.kind == core::QueueEntry::Kind::kEvent ||
             entry.kind == core::QueueEntry::Kind::kChange);
  CheckNumberedKey(QueuePrefix("alice"), QueueKey("alice", seq), seq);
}

void CheckPushJob(std::string_view bytes, core::MessageId job_id) {
  core::PushJob job;
  if (!CheckRoundTrip<core::PushJob>(
          bytes, [job_id](std::string_view b, core::PushJob* out) { return DecodePushJob(job_id, b, out); },
          EncodePushJob, &job)) {
    return;
  }
  FUZZ_CHECK(job.job_id == job_id);
  CheckNumberedKey(std::string(kPushJobPrefix), PushJobKey(job_id), job_id);
}

// Records whose key part (user, group or device) comes from the key, not the value.
void CheckKeyedRecords(std::string_view bytes) {
  core::UserRecord user;
  if (CheckRoundTrip<core::UserRecord>(
          bytes, [](std::string_view b, core::UserRecord* out) { return DecodeUser("alice", b, out); }, EncodeUser,
          &user)) {
    FUZZ_CHECK(user.user_id == "alice");
  }
  core::GroupRecord group;
  if (CheckRoundTrip<core::GroupRecord>(
          bytes, [](std::string_view b, core::GroupRecord* out) { return DecodeGroup("384", b, out); }, EncodeGroup,
          &group)) {
    FUZZ_CHECK(group.group_id == "384");
  }
  core::GroupInvite invite;
  if (CheckRoundTrip<core::GroupInvite>(
          bytes, [](std::string_view b, core::GroupInvite* out) { return DecodeInvite("bob", "384", b, out); },
          EncodeInvite, &invite)) {
    FUZZ_CHECK(invite.user_id == "bob" && invite.group_id == "384");
  }
  core::PushToken push_token;
  if (CheckRoundTrip<core::PushToken>(
          bytes, [](std::string_view b, core::PushToken* out) { return DecodePushToken("phone", b, out); },
          EncodePushToken, &push_token)) {
    FUZZ_CHECK(push_token.device_id == "phone");
  }
  core::ResumeToken resume_token;
  if (CheckRoundTrip<core::ResumeToken>(
          bytes, [](std::string_view b, core::ResumeToken* out) { return DecodeResumeToken("phone", b, out); },
          EncodeResumeToken, &resume_token)) {
    FUZZ_CHECK(resume_token.device_id == "phone");
  }
}

// A change from another node. Re-encoded, it is no longer than the input (the input's varints may be
// overlong, the encoder's are not) and decodes to the same change, with no log outbox: that is never
// logged.
void CheckChange(std::string_view bytes) {
  core::WriteSet change;
  if (!DecodeChange(bytes, &change).ok()) return;
  FUZZ_CHECK(change.log_outbox_added.empty() && change.log_outbox_done.empty());
  std::string encoded = EncodeChange(change);
  FUZZ_CHECK(encoded.size() <= bytes.size());
  core::WriteSet again;
  FUZZ_CHECK(DecodeChange(encoded, &again).ok());
  FUZZ_CHECK(again == change);
  FUZZ_CHECK(EncodeChange(again) == encoded);
}

}  // namespace
}  // namespace chat::storage

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chat::storage;
  std::string_view bytes = chat::fuzz::AsText(data, size);
  // The number a key would carry; any value will do, and this one varies with the input.
  std::uint64_t number = std::hash<std::string_view>()(bytes);
  CheckMessage(bytes, number);
  CheckQueueEntry(bytes, number);
  CheckPushJob(bytes, number);
  CheckKeyedRecords(bytes);
  CheckChange(bytes);
  return 0;
}
