#include "core/records.h"

#include <string_view>

namespace chat::core {

Conversation Conversation::Direct(const std::string& a, const std::string& b) {
  return {Kind::kDirect, a < b ? a + ":" + b : b + ":" + a};
}

std::string Conversation::PeerOf(const std::string& user_id) const {
  std::size_t colon = key.find(':');
  std::string_view first(key.data(), colon), second(key.data() + colon + 1, key.size() - colon - 1);
  return std::string(first == user_id ? second : first);
}

bool WriteSet::empty() const {
  // Every list of the struct: a field added there without a line here would never be stored.
  return users.empty() && users_deleted.empty() && messages.empty() && changed_messages.empty() && mentions.empty() && mentions_removed.empty() && queue.empty() && groups.empty() && members_added.empty() && members_removed.empty() &&
         read_positions.empty() && peers.empty() && contacts.empty() && last_active.empty() && push_tokens.empty() &&
         resume_tokens.empty() && resume_tokens_revoked.empty() &&
         push_jobs.empty() && push_jobs_done.empty() && mutes.empty() && group_accepts.empty() &&
         took_part_removed.empty() && invites_added.empty() && invites_removed.empty() && erased_users.empty() &&
         id_floor == 0 && log_outbox_added.empty() && log_outbox_done.empty();
}

}  // namespace chat::core
