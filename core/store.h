// Store: the persistence the chat core needs. storage/ implements it with RocksDB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/records.h"
#include "core/status.h"

namespace chat::core {

// What a retention sweep removes: entries created before these times (Unix milliseconds; 0 keeps all).
struct RetentionCutoffs {
  std::int64_t messages_before_ms = 0;  // history
  std::int64_t queue_before_ms = 0;     // sync queues (the newest entry of each queue stays)
};
struct RetentionSwept {
  std::uint64_t messages = 0;
  std::uint64_t queue_entries = 0;
};

// What chatctl stats shows.
struct StoreStatistics {
  struct Table {
    std::string name;  // docs/STORAGE.md's names: "messages_direct", "queues", ...
    std::uint64_t bytes = 0;  // approximate: on disk (compressed) and in the write buffers
  };
  std::vector<Table> tables;
  std::uint64_t users = 0;
  std::uint64_t groups = 0;
  std::uint64_t messages = 0;  // 1:1 and group
};

// Reads may run on the broker thread while the commit stage's writer thread runs ApplyAll; apart from
// that, one thread at a time (the broker thread, or one offline tool). Writes are durable per the
// store's configured durability mode once they return Ok.
class Store {
 public:
  virtual ~Store() = default;

  // --- Accounts
  // Returns the user, or kNotFound.
  virtual Result<UserRecord> GetUser(const std::string& user_id) = 0;
  // Ok when the user exists, kNotFound when not, kIoError when the store failed.
  virtual Status UserExists(const std::string& user_id) = 0;
  // Creates or replaces the user.
  virtual Status PutUser(const UserRecord& user) = 0;
  // Removes the user; kNotFound if absent. Messages the user sent or received stay in history.
  virtual Status DeleteUser(const std::string& user_id) = 0;
  // Up to `limit` user ids greater than `after`, in ascending order.
  virtual Result<std::vector<std::string>> ListUsers(const std::string& after, std::size_t limit) = 0;

  // --- Writes that gate an acknowledgement
  // Writes everything in `writes` in one atomic batch: after a crash all or none of it is present.
  // Each message also records its idempotency entry (when it has a client message id). What a change
  // implies (the id floor, who no longer took part) is in `writes`; the store only keeps its own
  // indexes current with them: each user's conversation list moves a conversation to the top when a
  // message of it is queued for the user, and gains or loses a group with the membership; the search
  // index gains a message's terms, and swaps them when it is edited or deleted.
  virtual Status Apply(const WriteSet& writes) = 0;
  // Writes every set, in order, in one atomic batch (the commit stage's group commit): all or none.
  virtual Status ApplyAll(const std::vector<const WriteSet*>& sets) = 0;
  // After a write failed (a full disk, an I/O error), called while nothing else reads or writes the
  // store: makes it ready to write again if it can (Ok), or says why not (writes keep failing; it is
  // called again after the next failure). Reads keep working either way.
  virtual Status RecoverFromWriteFailure() { return Status::Ok(); }

  // --- Messages
  // The id stored earlier for (sender, client_message_id), or nullopt if there is none.
  virtual Result<std::optional<MessageId>> FindByClientMessageId(const std::string& sender,
                                                                 const std::string& client_message_id) = 0;
  // A page of a conversation (see HistoryQuery).
  virtual Result<MessagePage> ReadConversation(const Conversation& conversation, const HistoryQuery& query) = 0;
  // One message, or nullopt.
  virtual Result<std::optional<StoredMessage>> GetMessage(const Conversation& conversation, MessageId id) = 0;
  // Messages after `after` not sent by `exclude_from`, among the newest `cap` messages after `after` and
  // within `max_bytes` of stored messages (0: no byte bound); `complete` is false when a bound stopped it.
  virtual Result<UnreadCount> CountMessagesAfter(const Conversation& conversation, MessageId after,
                                                 const std::string& exclude_from, std::size_t cap,
                                                 std::size_t max_bytes) = 0;
  // The newest message id of the conversation (0 when it has none).
  virtual Result<MessageId> LastMessageId(const Conversation& conversation) = 0;
  // The largest message id ever stored (0 for an empty store): the id generator's floor at start-up.
  virtual Result<MessageId> LargestMessageId() = 0;

  // --- Groups
  virtual Result<std::optional<GroupRecord>> GetGroup(const std::string& group_id) = 0;
  // Members in user id order.
  virtual Result<std::vector<GroupMember>> ListMembers(const std::string& group_id) = 0;
  // How many members the group has, counting no further than `cap` + 1 (enough to tell it is over `cap`).
  virtual Result<std::size_t> CountMembers(const std::string& group_id, std::size_t cap) = 0;
  // The members who took part in the group (see WriteSet::group_accepts), in user id order.
  virtual Result<std::vector<std::string>> ListTookPart(const std::string& group_id) = 0;
  // Ok when a member, kNotFound when not.
  virtual Status CheckMember(const std::string& group_id, const std::string& user_id) = 0;
  // When `user_id` joined the group (ms), or nullopt when not a member.
  virtual Result<std::optional<std::int64_t>> MemberSince(const std::string& group_id, const std::string& user_id) = 0;
  // Ok when `user_id` took part in the group (see WriteSet::group_accepts), kNotFound when not.
  virtual Status CheckTookPart(const std::string& group_id, const std::string& user_id) = 0;
  // The groups `user_id` belongs to, in group id order.
  virtual Result<std::vector<std::string>> ListUserGroups(const std::string& user_id) = 0;
  // The invitations waiting for `user_id`, in group id order.
  virtual Result<std::vector<GroupInvite>> ListInvites(const std::string& user_id) = 0;

  // --- Sync queues, read positions, conversation lists
  // The newest seq in the user's queue (0 when empty).
  virtual Result<std::uint64_t> LastQueueSeq(const std::string& user_id) = 0;
  // Up to `limit` entries with seq > `after`, ascending.
  virtual Result<QueuePage> ReadQueue(const std::string& user_id, std::uint64_t after, std::size_t limit) = 0;
  // The user's read position in the conversation (0 when never set).
  virtual Result<MessageId> GetReadPosition(const std::string& user_id, const Conversation& conversation) = 0;
  // Every read position the user has set, in one scan (an unread total looks at all of them).
  virtual Result<std::vector<std::pair<Conversation, MessageId>>> ListReadPositions(const std::string& user_id) = 0;
  // Up to `limit` of the messages that mention the user, with ids below `before` (0: from the newest),
  // newest first.
  virtual Result<MentionPage> ReadMentions(const std::string& user_id, MessageId before, std::size_t limit) = 0;
  // Messages whose text matches `query` within its scopes, newest first (core/text_terms.h says what
  // matches); reads at most `query.max_postings` index entries.
  virtual Result<SearchPage> Search(const SearchQuery& query) = 0;
  // Up to `limit` of the user's conversations with activity below `before` (0: from the newest), newest
  // first. The store keeps this order itself as messages are delivered (see Apply).
  virtual Result<InboxPage> ReadInbox(const std::string& user_id, MessageId before, std::size_t limit) = 0;

  // --- Contacts and presence
  // How `user_id` sees `other` (kNone when unrelated).
  virtual Result<ContactState> GetContact(const std::string& user_id, const std::string& other) = 0;
  // Every relationship of `user_id`, in other-user order.
  virtual Result<std::vector<std::pair<std::string, ContactState>>> ListContacts(const std::string& user_id) = 0;
  // When the user was last seen online (0 when never).
  virtual Result<std::int64_t> GetLastActive(const std::string& user_id) = 0;

  // --- Resume tokens
  // The device's token, or nullopt.
  virtual Result<std::optional<ResumeToken>> GetResumeToken(const std::string& user_id,
                                                            const std::string& device_id) = 0;
  // Every token of the user, in device order.
  virtual Result<std::vector<ResumeToken>> ListResumeTokens(const std::string& user_id) = 0;

  // --- Push
  virtual Result<std::vector<PushToken>> ListPushTokens(const std::string& user_id) = 0;
  // Every job not yet reported done (read once at start-up), in job id order.
  virtual Result<std::vector<PushJob>> ListPushJobs() = 0;
  virtual Result<bool> IsMuted(const std::string& user_id, const Conversation& conversation) = 0;

  // --- Replicated log (cluster/)
  // Every change waiting to be appended to the log (WriteSet::log_outbox_added, not yet done), in
  // change id order: what a node that stopped with appends unconfirmed appends again at start.
  virtual Result<std::vector<WriteSet::LogOutboxRecord>> ListLogOutbox() = 0;

  // A consistent copy of the whole store in `dir` (which must not exist yet), taken while writes go on:
  // everything committed before it started, nothing half. Safe from any thread; slow (file copies), so
  // never on the broker thread.
  virtual Status Checkpoint(const std::string& dir) = 0;

  // --- Maintenance, like Checkpoint safe from any thread and slow: never on the broker thread.
  // Deletes what `cutoffs` say has expired, in batches, while writes go on.
  virtual Result<RetentionSwept> ApplyRetention(const RetentionCutoffs& cutoffs) = 0;
  // Sizes by table and counts of users, groups and messages (which reads every message key).
  virtual Result<StoreStatistics> Statistics() = 0;
  // Appends the store's metrics (its size); cheap: any thread, the broker's included.
  virtual void Describe(MetricSamples& /*samples*/) {}
};

}  // namespace chat::core
