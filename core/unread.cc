#include "core/unread.h"

#include <algorithm>
#include <unordered_map>

namespace chat::core {

MessageId UnreadCountedFrom(const Conversation& conversation, MessageId read_position, MessageId history_floor) {
  return conversation.is_group() ? read_position : std::max(read_position, history_floor);
}

Result<UnreadCount> CountUnread(Store& store, const std::string& user_id, const InboxEntry& entry,
                                MessageId counted_from, std::size_t max_bytes) {
  if (entry.activity <= counted_from) return UnreadCount{};
  return store.CountMessagesAfter(entry.conversation, counted_from, user_id, kUnreadCountCap, max_bytes);
}

Result<UnreadCount> CountUnreadTotal(Store& store, const std::string& user_id, MessageId history_floor) {
  Result<std::vector<std::pair<Conversation, MessageId>>> positions = store.ListReadPositions(user_id);
  if (!positions.ok()) return positions.status();
  // Keyed by kind and conversation key together: a group id and a 1:1 key never collide, but say so.
  auto key_of = [](const Conversation& c) { return std::string(1, static_cast<char>(c.kind)) + c.key; };
  std::unordered_map<std::string, MessageId> read;
  read.reserve(positions->size());
  for (const auto& [conversation, position] : *positions) read.emplace(key_of(conversation), position);

  Result<InboxPage> inbox = store.ReadInbox(user_id, 0, kMaxCountedConversations);
  if (!inbox.ok()) return inbox.status();
  UnreadCount total;
  total.complete = !inbox->more;
  for (const InboxEntry& entry : inbox->entries) {
    auto position = read.find(key_of(entry.conversation));
    MessageId from = UnreadCountedFrom(entry.conversation, position == read.end() ? 0 : position->second,
                                       history_floor);
    if (entry.activity <= from) continue;  // read up to its newest message
    if (total.bytes_read >= kMaxTotalScanBytes) {
      total.complete = false;
      break;
    }
    Result<UnreadCount> unread = CountUnread(store, user_id, entry, from, kMaxTotalScanBytes - total.bytes_read);
    if (!unread.ok()) return unread.status();
    total.count += unread->count;
    total.bytes_read += unread->bytes_read;
    if (!unread->complete) total.complete = false;
  }
  return total;
}

}  // namespace chat::core
