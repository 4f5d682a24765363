// The RocksDB key layout, defined once (docs/STORAGE.md describes it). Every key starts with a table
// prefix; integers are big-endian so byte order is numeric order. User ids cannot contain ':', '/' or
// NUL and group ids are digits, so no key of one user, group or table can be a prefix of another's.
//
//   u/<user_id>                        -> UserRecord                       (accounts)
//   m/<a>:<b>\0<message_id>            -> StoredMessage                    (1:1 messages, a < b)
//   gmsg/<group_id>\0<message_id>      -> StoredMessage                    (group messages)
//   c/<sender>\0<cmid>                 -> <message_id>                     (send idempotency)
//   x/largest_message_id               -> <message_id>                     (id generator floor)
//   x/format_version                   -> <number>                         (layout version, kFormatVersion)
//   grp/<group_id>                     -> GroupRecord
//   gmem/<group_id>\0<user_id>         -> joined_at                        (members of a group)
//   ugrp/<user_id>\0<group_id>         -> ""                               (groups of a user)
//   q/<user_id>\0<seq>                 -> QueueEntry                       (sync queue)
//   rd/<user_id>\0<kind><conv key>     -> <message_id>                     (read positions)
//   peer/<user_id>\0<peer>             -> <message_id>                     (1:1 partners, last message)
//   ct/<user_id>\0<other>              -> ContactState (1 byte)            (contacts and requests)
//   la/<user_id>                       -> <ms>                             (last_active_at)
//   pt/<user_id>\0<device_id>          -> PushToken                        (push tokens)
//   rt/<user_id>\0<device_id>          -> ResumeToken (digest, issued_at)  (resume tokens)
//   pj/<job_id>                        -> PushJob                          (pending push jobs)
//   mu/<user_id>\0<kind><conv key>     -> ""                               (muted conversations)
//   gpart/<group_id>\0<user_id>        -> ""                               (took part in the group)
//   ginv/<user_id>\0<group_id>         -> GroupInvite (by, at)             (invitations waiting)
//   qf/<user_id>                       -> <seq>                            (queue floor of an erased account)
//   ib/<user_id>\0<activity><kind><conv key> -> ""                        (conversation list, by activity)
//   gact/<group_id>                    -> <message_id>                     (a group's newest message)
//   ix/<kind><conv key>\0<term>\0<message_id> -> sender                   (search index, search_index.h)
//   mn/<user_id>\0<message_id>         -> group id                         (messages mentioning the user)
//   lo/<change_id>                     -> change record (change_record.h)  (replicated log outbox, cluster/)
//
// A conversation's messages and a user's queue each share one prefix: a page is one range scan.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/records.h"

namespace chat::storage {

void AppendBigEndian64(std::uint64_t value, std::string* out);
std::uint64_t ReadBigEndian64(std::string_view bytes);  // bytes.size() must be >= 8
// The last 8 bytes of a key, as a big-endian number (the id or seq ending a key).
std::uint64_t TrailingNumber(std::string_view key);

// The first key after every key starting with `prefix` (an exclusive upper bound).
std::string PrefixEnd(std::string_view prefix);

// Every table of the layout above by the name chatctl stats and docs/STORAGE.md give it.
struct Table {
  std::string_view name;
  std::string_view prefix;
};
inline constexpr Table kTables[] = {
    {"accounts", "u/"},         {"messages_direct", "m/"}, {"messages_group", "gmsg/"}, {"send_ids", "c/"},
    {"server", "x/"},           {"groups", "grp/"},        {"group_members", "gmem/"},  {"user_groups", "ugrp/"},
    {"queues", "q/"},           {"read_positions", "rd/"}, {"peers", "peer/"},          {"contacts", "ct/"},
    {"last_active", "la/"},     {"push_tokens", "pt/"},    {"resume_tokens", "rt/"},    {"push_jobs", "pj/"},
    {"mutes", "mu/"},           {"group_took_part", "gpart/"}, {"invites", "ginv/"},    {"queue_floors", "qf/"},
    {"inbox", "ib/"},           {"group_activity", "gact/"}, {"search_index", "ix/"},
    {"mentions", "mn/"},        {"log_outbox", "lo/"},
};
inline constexpr std::string_view kDirectMessagePrefix = "m/";
inline constexpr std::string_view kGroupMessagePrefix = "gmsg/";
inline constexpr std::string_view kQueueTablePrefix = "q/";
inline constexpr std::string_view kMentionTablePrefix = "mn/";
inline constexpr std::string_view kGroupPrefix = "grp/";

inline constexpr std::string_view kUserPrefix = "u/";
std::string UserKey(std::string_view user_id);

// Messages of a conversation: the shared prefix and one message's key.
std::string ConversationPrefix(const core::Conversation& conversation);
std::string MessageKey(const core::Conversation& conversation, core::MessageId id);

std::string ClientMessageIdKey(std::string_view sender, std::string_view client_message_id);
inline constexpr std::string_view kLargestMessageIdKey = "x/largest_message_id";
// The layout version of the store (this file's key layout and record_codec's records), a number.
inline constexpr std::string_view kFormatVersionKey = "x/format_version";
// 2 added the conversation list (ib/, gact/), built from peer/ and ugrp/ when a version 1 store is opened;
// 3 the search index (ix/), built from the messages when an older store is opened; 4 the index rebuilt
// with terms from a message's first 4,000 characters only (core/text_terms.h), so that editing or deleting
// a longer message of a version 3 store leaves no posting behind.
inline constexpr std::uint64_t kFormatVersion = 4;

std::string GroupKey(std::string_view group_id);
std::string MemberPrefix(std::string_view group_id);
std::string MemberKey(std::string_view group_id, std::string_view user_id);
std::string TookPartPrefix(std::string_view group_id);
std::string TookPartKey(std::string_view group_id, std::string_view user_id);
std::string InvitePrefix(std::string_view user_id);
std::string InviteKey(std::string_view user_id, std::string_view group_id);
std::string UserGroupPrefix(std::string_view user_id);
std::string UserGroupKey(std::string_view user_id, std::string_view group_id);

std::string QueuePrefix(std::string_view user_id);
std::string QueueKey(std::string_view user_id, std::uint64_t seq);

std::string ReadPositionPrefix(std::string_view user_id);
std::string ReadPositionKey(std::string_view user_id, const core::Conversation& conversation);
std::string PeerPrefix(std::string_view user_id);
std::string PeerKey(std::string_view user_id, std::string_view peer);

// A user's conversation list: one key per conversation, ordered by its activity (InboxEntry).
std::string InboxPrefix(std::string_view user_id);
std::string InboxKey(std::string_view user_id, const core::InboxEntry& entry);
// The entry a key under InboxPrefix(user) ends with (`suffix`: the key without that prefix).
core::InboxEntry InboxEntryOf(std::string_view suffix);
std::string GroupActivityKey(std::string_view group_id);
// A user's list of the messages that mention them, by message id.
std::string MentionPrefix(std::string_view user_id);
std::string MentionKey(std::string_view user_id, core::MessageId id);

std::string ContactPrefix(std::string_view user_id);
std::string ContactKey(std::string_view user_id, std::string_view other);
std::string LastActiveKey(std::string_view user_id);

std::string PushTokenPrefix(std::string_view user_id);
std::string PushTokenKey(std::string_view user_id, std::string_view device_id);
std::string ResumeTokenPrefix(std::string_view user_id);
std::string ResumeTokenKey(std::string_view user_id, std::string_view device_id);
inline constexpr std::string_view kPushJobPrefix = "pj/";
std::string PushJobKey(core::MessageId job_id);
inline constexpr std::string_view kLogOutboxPrefix = "lo/";
std::string LogOutboxKey(core::MessageId change_id);
std::string MuteKey(std::string_view user_id, const core::Conversation& conversation);

// The small tables of one user's own records (read positions, 1:1 partners, contacts as they see them,
// push tokens, mutes, invitations): erasing an account deletes their keys one by one. (RocksDB's
// DeleteRange is not used: it is unsafe with the row cache, facebook/rocksdb#4122.)
std::vector<std::string> UserRecordPrefixes(std::string_view user_id);
// The seq at and below which a user's queue is no longer read (set when the account was erased; the
// queue, which can be long, is not deleted key by key on the broker thread).
std::string QueueFloorKey(std::string_view user_id);

}  // namespace chat::storage
