// The records the chat server keeps: accounts and messages (the seed's message table).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/message_id.h"

namespace chat::core {

// A salted PBKDF2-HMAC-SHA256 password hash.
struct PasswordHash {
  std::uint32_t iterations = 0;
  std::string salt;    // raw bytes
  std::string digest;  // raw bytes
  bool operator==(const PasswordHash&) const = default;
};

struct UserRecord {
  std::string user_id;
  PasswordHash password;
  bool is_admin = false;
  std::int64_t created_at_ms = 0;
  // The largest message id when the account was made: a 1:1 conversation shows this account nothing
  // at or below it, so a re-created name never reads what its predecessor sent or received.
  MessageId history_floor = 0;
  bool operator==(const UserRecord&) const = default;
};

// Which conversation a message belongs to: the 1:1 conversation of two users or a group.
struct Conversation {
  enum class Kind : std::uint8_t { kDirect = 1, kGroup = 2 };
  Kind kind = Kind::kDirect;
  // kDirect: "<lower>:<higher>" of the two user ids (':' cannot occur in a user id, so the key is
  // unambiguous and the same whoever sends). kGroup: the group id.
  std::string key;

  static Conversation Direct(const std::string& a, const std::string& b);
  static Conversation Group(std::string group_id) { return {Kind::kGroup, std::move(group_id)}; }
  // kDirect: the side of the conversation that is not `user_id` (`user_id` itself for notes to self).
  std::string PeerOf(const std::string& user_id) const;
  bool is_group() const { return kind == Kind::kGroup; }
  bool operator==(const Conversation&) const = default;
};

// One message: message_id, from, to (1:1) or group, content, created_at.
struct StoredMessage {
  MessageId id = 0;
  std::string from;
  std::string to;        // the recipient of a 1:1 message; empty for a group message
  std::string group_id;  // the group of a group message; empty for a 1:1 message
  std::string text;
  std::int64_t created_at_ms = 0;
  std::string client_message_id;  // the sender's idempotency key; empty when none was given
  std::int64_t edited_at_ms = 0;  // when its text was last changed; 0 when never
  // Who deleted it (its sender, or a group's owner); empty while it stands. A deleted message keeps its
  // place in history as a tombstone with no text.
  std::string deleted_by;
  // A group message's mentioned members (core/mentions.h), its sender never among them; `mentions_all`:
  // it said "@all" (then `mentions` is every other member when it was sent).
  std::vector<std::string> mentions;
  bool mentions_all = false;

  bool operator==(const StoredMessage&) const = default;
  bool deleted() const { return !deleted_by.empty(); }
  Conversation conversation() const {
    return group_id.empty() ? Conversation::Direct(from, to) : Conversation::Group(group_id);
  }
};

struct GroupRecord {
  std::string group_id;
  std::string name;
  std::string owner;
  std::int64_t created_at_ms = 0;
  bool operator==(const GroupRecord&) const = default;
};

struct GroupMember {
  std::string user_id;
  std::int64_t joined_at_ms = 0;
};

// An invitation to join a group, waiting for its user to accept (group_join) or decline it. Someone who
// is not the inviter's contact is invited rather than added: joining takes their consent.
struct GroupInvite {
  std::string group_id;
  std::string user_id;  // who is invited
  std::string by;       // who invited them
  std::int64_t at_ms = 0;
  bool operator==(const GroupInvite&) const = default;
};

// One entry of a user's sync queue. A message entry refers to the stored message (a long text is not
// copied into every member's queue); any other event (group change, read mark) is small and kept inline.
struct QueueEntry {
  // kChange: a message was edited or deleted; the event shows it as it is when read (a later edit's
  // text, or a tombstone), so a queue never holds a copy of a text that was changed.
  enum class Kind : std::uint8_t { kMessage = 1, kEvent = 2, kChange = 3 };
  Kind kind = Kind::kMessage;
  Conversation conversation;  // kMessage, kChange
  MessageId message_id = 0;   // kMessage, kChange
  std::string event_json;     // kEvent: the event object, without its "seq"
  std::int64_t created_at_ms = 0;
  bool operator==(const QueueEntry&) const = default;
};

struct SequencedEntry {
  std::uint64_t seq = 0;
  QueueEntry entry;
};

struct QueuePage {
  std::vector<SequencedEntry> entries;  // ascending seq
  bool more = false;                    // entries remain after this page
  bool truncated = false;               // entries after the requested seq were dropped by retention
  std::uint64_t last_seq = 0;           // the newest seq in the queue (0: empty)
};

// How many messages of a conversation are unread, as far as a bounded scan could tell.
struct UnreadCount {
  std::size_t count = 0;
  bool complete = true;        // false: the scan stopped at its cap and more may be unread
  std::size_t bytes_read = 0;  // what the scan cost, in stored bytes
};

// A user's 1:1 conversation partner and the newest message between them.
struct DirectPeer {
  std::string peer;
  MessageId last_id = 0;
  bool operator==(const DirectPeer&) const = default;
};

// One entry of a user's conversation list (the inbox): a conversation and its activity, the id of the
// newest message delivered to the user in it (for a group without messages yet, the group's own id).
struct InboxEntry {
  Conversation conversation;
  MessageId activity = 0;
};

struct InboxPage {
  std::vector<InboxEntry> entries;  // newest activity first
  bool more = false;                // older entries follow
};

// A device's push token.
struct PushToken {
  std::string device_id;
  std::string provider;  // one of kPushProviders (core/push_providers.h)
  std::string token;
  std::string platform;
  bool operator==(const PushToken&) const = default;
};

// A device's resume token (core/resume_tokens.h): what the store keeps is a digest of the secret the
// device holds, never the secret.
struct ResumeToken {
  std::string device_id;
  std::string digest;  // SHA-256 of the user, the device and the secret (32 bytes)
  std::int64_t issued_at_ms = 0;
  bool operator==(const ResumeToken&) const = default;
};

// A notification owed to a user with no device online: durable until the bridge reports on it.
struct PushJob {
  MessageId job_id = 0;
  std::string user_id;
  std::string from;               // sender of the newest message
  Conversation conversation;      // of the newest message, as the recipient sees it (peer = from)
  std::uint32_t count = 0;        // messages collapsed into this notification
  std::string preview;            // the newest message's text, cut to the preview length
  std::int64_t created_at_ms = 0;
  MessageId message_id = 0;       // the newest message (0 in a job stored before it was kept)
  bool operator==(const PushJob&) const = default;
};

// One side of a contact relationship, as `user` sees `other`.
enum class ContactState : std::uint8_t {
  kNone = 0,
  kContact = 1,   // both accepted
  kOutgoing = 2,  // user asked other, no answer yet
  kIncoming = 3,  // other asked user, no answer yet
};

// Everything one request changes, written by Store::Apply in one atomic batch.
struct WriteSet {
  struct QueueAppend {
    std::string user_id;
    std::uint64_t seq = 0;
    QueueEntry entry;
    bool operator==(const QueueAppend&) const = default;
  };
  struct Membership {
    std::string group_id;
    std::string user_id;
    std::int64_t joined_at_ms = 0;
    bool operator==(const Membership&) const = default;
  };
  struct ReadPosition {
    std::string user_id;
    Conversation conversation;
    MessageId up_to = 0;
    bool operator==(const ReadPosition&) const = default;
  };
  struct PeerUpdate {
    std::string user_id;
    DirectPeer peer;
    bool operator==(const PeerUpdate&) const = default;
  };
  struct ContactUpdate {
    std::string user_id;
    std::string other;
    ContactState state = ContactState::kNone;  // kNone deletes
    bool operator==(const ContactUpdate&) const = default;
  };
  struct LastActive {
    std::string user_id;
    std::int64_t at_ms = 0;
    bool operator==(const LastActive&) const = default;
  };

  // Accounts created or changed (a password), and accounts deleted (after their data was erased, see
  // erased_users): an account is a change like any other, so that a cluster's log has it.
  std::vector<UserRecord> users;
  std::vector<std::string> users_deleted;
  std::vector<StoredMessage> messages;  // with their idempotency entries
  std::vector<StoredMessage> changed_messages;  // edited or deleted: replace the stored ones
  // A member's list of the messages that mention them (core/mentions.h).
  struct Mention {
    std::string user_id;
    std::string group_id;
    MessageId message_id = 0;
    bool operator==(const Mention&) const = default;
  };
  std::vector<Mention> mentions;
  std::vector<Mention> mentions_removed;  // an edit took the name out, or the message was deleted
  std::vector<QueueAppend> queue;
  std::vector<GroupRecord> groups;
  std::vector<Membership> members_added;
  std::vector<Membership> members_removed;
  std::vector<ReadPosition> read_positions;
  std::vector<PeerUpdate> peers;
  std::vector<ContactUpdate> contacts;
  std::vector<LastActive> last_active;
  struct TokenUpdate {
    std::string user_id;
    PushToken token;  // an empty provider deletes the device's token
    bool operator==(const TokenUpdate&) const = default;
  };
  struct MuteUpdate {
    std::string user_id;
    Conversation conversation;
    bool muted = false;
    bool operator==(const MuteUpdate&) const = default;
  };
  std::vector<TokenUpdate> push_tokens;
  struct ResumeTokenUpdate {
    std::string user_id;
    ResumeToken token;  // an empty digest deletes the device's token
    bool operator==(const ResumeTokenUpdate&) const = default;
  };
  std::vector<ResumeTokenUpdate> resume_tokens;
  // Users all of whose resume tokens go (a password change, `chatctl revoke-tokens`); applied before
  // `resume_tokens`, so a batch may revoke and issue.
  std::vector<std::string> resume_tokens_revoked;
  std::vector<PushJob> push_jobs;        // created or updated
  std::vector<MessageId> push_jobs_done;  // deleted
  std::vector<MuteUpdate> mutes;
  // Members who took part in a group themselves (created it, posted or marked it read): only they
  // show their presence to co-members, so being added to a group by someone does not expose you.
  std::vector<Membership> group_accepts;
  std::vector<Membership> took_part_removed;  // a member who left or was removed (joined_at unused)
  std::vector<GroupInvite> invites_added;
  std::vector<Membership> invites_removed;  // accepted, declined or withdrawn (joined_at unused)
  // Accounts whose own records go: read positions, 1:1 partner list, contacts as they see them, push
  // and resume tokens, mutes, invitations and last_active_at are deleted, and their queue so far is never read
  // again (its numbering goes on). Their idempotency entries stay, but name messages at or below the
  // next account's history floor, so they are ignored. Applied before the rest of the batch.
  std::vector<std::string> erased_users;
  // The largest id this batch took from the message id generator (messages, groups, push jobs), stored
  // as the generator's floor for the next start; 0 when it took none.
  MessageId id_floor = 0;

  // The change's server id when it goes to a replicated log (cluster/): the id of its newest message,
  // or one taken for it. It names the change in the log (JetStream's Nats-Msg-Id), so that an append
  // repeated after a timeout or a crash is stored once. 0 on a single node.
  MessageId change_id = 0;

  // The node's own bookkeeping, never part of a logged change: changes waiting to be appended to the
  // replicated log (their encoded records, stored with the write that makes them pending), and those
  // the log confirmed (removed with the write that applies them).
  struct LogOutboxRecord {
    MessageId change_id = 0;
    std::string record;
    bool operator==(const LogOutboxRecord&) const = default;
  };
  std::vector<LogOutboxRecord> log_outbox_added;
  std::vector<MessageId> log_outbox_done;

  // True when there is nothing to store (then no write is made, and no fsync).
  bool empty() const;
  bool operator==(const WriteSet&) const = default;
};

// Which slice of a conversation to read. Bounds are exclusive; 0 means unbounded.
struct HistoryQuery {
  MessageId after = 0;
  MessageId before = 0;
  std::size_t limit = 50;
  bool newest_first = true;  // scan down from `before` (true) or up from `after` (false)
  // Stop once the messages read hold this many bytes (the first message is always read); 0: no bound.
  std::size_t max_bytes = 0;
};

// One conversation a search looks in, and the ids it may find there: above `after` (what the caller
// may read: their history floor, or when they joined a group) and below `before` (0: no bound).
struct SearchScope {
  Conversation conversation;
  MessageId after = 0;
  MessageId before = 0;
};

struct SearchQuery {
  std::vector<SearchScope> scopes;
  std::vector<std::string> terms;  // each a term of the message (core/text_terms.h)
  std::string prefix;              // and one of its terms starts with this ("" when none)
  std::string from;                // only messages of this sender ("" for anyone)
  std::size_t limit = 20;
  // How many index entries the search may read: the bound on one request's work, whatever the
  // store's size. A search that reaches it stops with `more` and the place it got to.
  std::size_t max_postings = 20000;
};

struct SearchHit {
  Conversation conversation;
  MessageId id = 0;
};

struct SearchPage {
  std::vector<SearchHit> hits;  // newest first
  bool more = false;            // ask again with every scope's `before` at `next_before`
  MessageId next_before = 0;
  // A prefix matched more words than one request reads: the hits may miss newer ones (type more).
  bool partial = false;
};

// A message that mentions a user, in their list of mentions.
struct MentionRef {
  std::string group_id;
  MessageId message_id = 0;
};

struct MentionPage {
  std::vector<MentionRef> mentions;  // newest first
  bool more = false;
};

struct MessagePage {
  std::vector<StoredMessage> messages;  // in the requested order
  bool more = false;                    // messages remain in the range beyond this page
};

}  // namespace chat::core
