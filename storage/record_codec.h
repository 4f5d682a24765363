// Binary encodings of stored records: a version byte, then length-prefixed fields. Compact and fast
// to decode on the broker thread; JSON is only for the wire.
#pragma once

#include <string>
#include <string_view>

#include "core/records.h"
#include "core/status.h"

namespace chat::storage {

std::string EncodeUser(const core::UserRecord& user);
core::Status DecodeUser(std::string_view user_id, std::string_view bytes, core::UserRecord* out);

// The message id lives in the key, not the value.
std::string EncodeMessage(const core::StoredMessage& message);
core::Status DecodeMessage(core::MessageId id, std::string_view bytes, core::StoredMessage* out);
std::string EncodeInvite(const core::GroupInvite& invite);
core::Status DecodeInvite(std::string_view user_id, std::string_view group_id, std::string_view bytes,
                          core::GroupInvite* out);
// Only the sender of an encoded message (its first field): counting unread messages needs no text.
core::Status DecodeMessageSender(std::string_view bytes, std::string* from);

std::string EncodeGroup(const core::GroupRecord& group);
core::Status DecodeGroup(std::string_view group_id, std::string_view bytes, core::GroupRecord* out);

std::string EncodePushToken(const core::PushToken& token);
core::Status DecodePushToken(std::string_view device_id, std::string_view bytes, core::PushToken* out);
std::string EncodeResumeToken(const core::ResumeToken& token);
core::Status DecodeResumeToken(std::string_view device_id, std::string_view bytes, core::ResumeToken* out);
std::string EncodePushJob(const core::PushJob& job);
core::Status DecodePushJob(core::MessageId job_id, std::string_view bytes, core::PushJob* out);

std::string EncodeQueueEntry(const core::QueueEntry& entry);
core::Status DecodeQueueEntry(std::string_view bytes, core::QueueEntry* out);

}  // namespace chat::storage
