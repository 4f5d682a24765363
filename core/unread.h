// Unread counts: which messages of a conversation are unread for a user (the conversation list shows
// them per conversation), and their total over all of the user's conversations (a push carries it as
// the app's badge). One rule for both, so a badge is the sum of the list's counts.
#pragma once

#include <cstddef>
#include <string>

#include "core/records.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

// A conversation's count stops here (the list then says the count is capped).
inline constexpr std::size_t kUnreadCountCap = 1000;

// The messages after this id are unread: those after the read position, and in a 1:1 never one from
// before the account (its history floor: an earlier account of the same name received them).
MessageId UnreadCountedFrom(const Conversation& conversation, MessageId read_position, MessageId history_floor);

// The unread messages of one entry of `user_id`'s conversation list after `counted_from` (see above), at
// most kUnreadCountCap and `max_bytes` of stored messages read (0: no byte bound). No read at all when
// the conversation's newest message is at or before `counted_from`.
Result<UnreadCount> CountUnread(Store& store, const std::string& user_id, const InboxEntry& entry,
                                MessageId counted_from, std::size_t max_bytes);

// The messages others sent that `user_id` has not read, over every conversation of theirs. Bounded:
// at most kMaxCountedConversations conversations and kMaxTotalScanBytes of stored messages are read,
// and each conversation counts at most kUnreadCountCap; past a bound the count is incomplete. Reads
// the whole conversation list and every read position: run it off the broker thread (ReadWorker).
inline constexpr std::size_t kMaxCountedConversations = 5000;
inline constexpr std::size_t kMaxTotalScanBytes = 4 << 20;
Result<UnreadCount> CountUnreadTotal(Store& store, const std::string& user_id, MessageId history_floor);

}  // namespace chat::core
