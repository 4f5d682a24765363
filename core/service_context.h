// ServiceContext: what the request services (messages, groups) share: the store, time, ids, limits and
// the sync queue sequence numbers, plus the commit step every state-changing request ends with.
#pragma once

#include <deque>
#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/commit_stage.h"
#include "core/message_id.h"
#include "core/rate_limiter.h"
#include "core/outbox.h"
#include "core/protocol_format.h"
#include "core/read_worker.h"
#include "core/records.h"
#include "core/server_metrics.h"
#include "core/settings.h"
#include "core/store.h"
#include "core/transaction.h"

namespace chat::core {

// Who made a request: the authenticated user and the MQTT client (device) it came from.
struct Caller {
  std::string_view user_id;
  std::string_view client_id;
  bool is_admin = false;
  // 1:1 messages at or below this id predate the account (a re-created name): never shown to it.
  MessageId history_floor = 0;
  bool is_service = false;  // a push bridge account (PushSettings::IsServiceAccount, at login)
};

// A request type's own rate bucket (send, typing), taken by its handler once the request proved valid,
// so that a refused request costs no token. Which bucket a type has is in ChatService's request table.
class RateGate {
 public:
  RateGate() = default;
  RateGate(RateLimiter* limiter, const char* refusal) : limiter_(limiter), refusal_(refusal) {}
  // Ok, or kRateLimited with the bucket's message; Ok for a type without a bucket of its own.
  Status Take(std::string_view user_id) const;

 private:
  RateLimiter* limiter_ = nullptr;
  const char* refusal_ = "";
};

// One request as its handler sees it. The handler fills `tx` (writes, deliveries, the reply); the
// dispatcher commits it, or sends the error reply when the handler refuses.
struct Request {
  const Caller& caller;
  const RequestFields& fields;
  Transaction& tx;
  RateGate rate;
  // For a commit of the handler's own besides `tx` (one that must stand even when the request fails).
  Outbox& outbox;
  // Queues `payload` for the caller's device, published after the commit.
  void Reply(std::string payload) const;
};

// What a request names with "group" (a group the caller belongs to) or with `peer_field` (a 1:1 with
// an existing user; the caller is always one side of it).
struct Target {
  Conversation conversation;
  std::string peer;  // empty for a group
  bool is_group() const { return conversation.is_group(); }
};

// Whether a send prepared while a transaction is being committed must wait for it: yes when it may
// change what a send checks (membership, contacts, accounts), no for a send's own kind of write.
enum class LaterSends { kWait, kMayPass };

class ServiceContext {
 public:
  ServiceContext(Store& store, CommitStage& stage, ReadWorker& reads, const Clock& clock, MessageIdGenerator& ids,
                 const Limits& limits)
      : store(store), reads(reads), clock(clock), ids(ids), limits(limits), seqs(store), stage_(stage) {}
  // Waits until the stage has stored (or failed) what was submitted: it reads the write sets held here.
  ~ServiceContext();
  ServiceContext(const ServiceContext&) = delete;
  ServiceContext& operator=(const ServiceContext&) = delete;

  // The one place a transaction is applied. Its writes go to the commit stage (none when empty);
  // once they are stored, and after every transaction committed before it, its publishes go out in
  // the order they were added and its after-commit actions run; then relationships_changed is told
  // whose relationships it changed.
  // When the commit fails nothing of it is published but its failure reply, and every transaction
  // still in flight fails with it (each was prepared on top of the failed one).
  void Commit(Transaction tx, Outbox& outbox, LaterSends later_sends = LaterSends::kWait);
  // Commit, and wait for it and everything before it: rare server actions (an account's erasure)
  // that go on from what they stored. The transaction's outcome.
  Status CommitNow(Transaction tx, Outbox& outbox);
  // Publishes what the commit stage finished since the last call. Call on every broker tick (the
  // stage wakes the broker when it finishes) and before every request.
  void PublishCommitted(Outbox& outbox);
  // The end of a broker loop pass: what the pass submitted may be stored now (CommitStage::Flush).
  void FlushCommits() { stage_.Flush(); }
  // When the store could not be made ready to write after a failure (a disk still full), requests that
  // write fail at once; on a tick, at most once a second, this tries again (Store::RecoverFromWriteFailure).
  void RetryRecovery();
  // Whether anything is being committed; whether a send must wait (see LaterSends).
  bool CommitsPending() const { return !pending_.empty(); }
  bool SendsMustWait() const { return waiting_sends_ > 0; }
  // The id of a send by `sender` with `cmid` that is being committed, or 0.
  MessageId SendInFlight(std::string_view sender, std::string_view cmid) const;

  // A new id from the generator, recorded as `tx`'s id floor (messages, groups and push jobs share it).
  MessageId NewId(Transaction& tx);
  // The conversation a request names: "group", or `peer_field` for a 1:1 (kBadRequest naming both when
  // neither is there).
  Result<Target> TargetOf(const Caller& caller, const RequestFields& request, const char* peer_field);
  // Everyone whose queue gets a message of `target`: the group's members, or both sides of a 1:1.
  Result<std::vector<std::string>> Participants(const Caller& caller, const Target& target);
  // Sets a group message's mentions from its text (core/mentions.h; `members` are the group's) and adds
  // to `writes` the mention list entries that differ from `before` (the message's earlier mentions, for
  // an edit). kNotAllowed for "@all" from anyone but the owner.
  Status NoteMentions(const std::vector<std::string>& members, StoredMessage* message,
                      const std::vector<std::string>& before, WriteSet* writes);
  // The request's "text": a message text within limits.max_message_chars (kTooLong past it), not empty.
  Status ReadText(const RequestFields& request, std::string* text) const;
  // kUnknownPeer unless `user_id` names an existing account. An account found once is remembered (every
  // send to it asks), until ForgetUser.
  Status CheckUser(const std::string& user_id);
  // The account is being erased: CheckUser asks the store again.
  void ForgetUser(const std::string& user_id) { existing_users_.erase(user_id); }
  // kNotFound unless `user_id` is a member of `group_id` (a missing group and a non-member are one
  // answer, so outsiders learn nothing about groups).
  Status CheckMember(const std::string& group_id, const std::string& user_id);
  // Adds to `writes` that `user_id` took part in `group_id`, unless that is known already.
  Status NoteTookPart(const std::string& group_id, const std::string& user_id, WriteSet* writes);
  // Sends `reply` to the caller's device now (an error reply: nothing is committed).
  void Reply(const Caller& caller, Outbox& outbox, std::string reply);

  Store& store;
  // Where reads too long for the broker thread go (a search, a push's unread total).
  ReadWorker& reads;
  const Clock& clock;
  MessageIdGenerator& ids;
  const Limits& limits;
  SequenceAllocator seqs;
  // Told, after a commit, the users whose contacts or groups it changed: a contact's two sides, and
  // every member of a group someone joined, left or took part in; nullopt when they could not be
  // listed (then everyone's). Permissions derived from them, such as who may watch whose presence,
  // must be looked up again for those users. May be empty.
  std::function<void(const std::optional<std::vector<std::string>>& users)> relationships_changed;
  // Counted by every service (broker thread only).
  ServerMetrics metrics;
  // Where deliveries go (see Transaction::DeviceLookup); may be empty.
  Transaction::DeviceLookup devices_of;
  // Told once per failed commit, after its requests had their error replies: why it failed, how many
  // requests failed with it, and whether the store could be made ready to write again
  // (Store::RecoverFromWriteFailure). May be empty.
  std::function<void(const Status& failure, std::size_t failed_requests, const Status& recovery)> commit_failed;
  // Told when a store that refused writes takes them again (RetryRecovery). May be empty.
  std::function<void()> store_recovered;

 private:
  // What is left to do for a submitted transaction once its writes are stored.
  struct Pending {
    std::uint64_t ticket = 0;  // 0: nothing to store; done once everything before it is
    Transaction tx;
    LaterSends later_sends = LaterSends::kWait;
    std::vector<std::string> related_users;   // see relationships_changed
    std::vector<std::string> related_groups;  // their members too
    std::vector<std::string> sends;           // keys of sends_in_flight_
  };
  Pending Prepare(Transaction tx, LaterSends later_sends);
  void Complete(Pending& done, Outbox& outbox);
  // A commit failed: everything in flight fails with it, and what was handed out for it is reloaded.
  void FailAll(const Status& status, Outbox& outbox);
  void NotifyRelationships(const Pending& done);

  CommitStage& stage_;
  std::deque<Pending> pending_;
  std::size_t waiting_sends_ = 0;  // pending transactions with LaterSends::kWait
  std::uint64_t stored_through_ = 0;  // every ticket up to here is stored
  std::unordered_map<std::string, MessageId> sends_in_flight_;  // sender '\0' cmid -> id
  std::unordered_set<std::string> existing_users_;  // accounts CheckUser found (bounded: see CheckUser)
  std::vector<CommitOutcome> finished_;  // reused by PublishCommitted
  bool store_writable_ = true;  // false after a failure the store could not recover from yet
  std::int64_t next_recovery_ms_ = 0;
  Status last_failure_;
};

}  // namespace chat::core
