// ServiceContext: what the request services (messages, groups) share: the store, time, ids, limits and
// the sync queue sequence numbers, plus the commit step every state-changing request ends with.
#pragma once

#include <functional>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/message_id.h"
#include "core/rate_limiter.h"
#include "core/outbox.h"
#include "core/protocol_format.h"
#include "core/records.h"
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

class ServiceContext {
 public:
  ServiceContext(Store& store, const Clock& clock, MessageIdGenerator& ids, const Limits& limits,
                 const SyncSettings& sync)
      : store(store), clock(clock), ids(ids), limits(limits), sync(sync), seqs(store) {}

  // The one place a transaction is applied: its writes in one batch (none when empty), then its
  // publishes and its after-commit actions; then relationships_changed is told whose relationships it
  // changed, and the recipients' queues are trimmed when a retention is set. On failure nothing is
  // stored or published.
  Status Commit(Transaction& tx, Outbox& outbox);
  // A new id from the generator, recorded as `tx`'s id floor (messages, groups and push jobs share it).
  MessageId NewId(Transaction& tx);
  // The conversation a request names: "group", or `peer_field` for a 1:1 (kBadRequest naming both when
  // neither is there).
  Result<Target> TargetOf(const Caller& caller, const RequestFields& request, const char* peer_field);
  // kUnknownPeer unless `user_id` names an existing account.
  Status CheckUser(const std::string& user_id);
  // kNotFound unless `user_id` is a member of `group_id` (a missing group and a non-member are one
  // answer, so outsiders learn nothing about groups).
  Status CheckMember(const std::string& group_id, const std::string& user_id);
  // Adds to `writes` that `user_id` took part in `group_id`, unless that is known already.
  Status NoteTookPart(const std::string& group_id, const std::string& user_id, WriteSet* writes);
  // Sends `reply` to the caller's device now (an error reply: nothing is committed).
  void Reply(const Caller& caller, Outbox& outbox, std::string reply);

  Store& store;
  const Clock& clock;
  MessageIdGenerator& ids;
  const Limits& limits;
  const SyncSettings& sync;
  SequenceAllocator seqs;
  // Told, after a commit, the users whose contacts or groups it changed: a contact's two sides, and
  // every member of a group someone joined, left or took part in; nullopt when they could not be
  // listed (then everyone's). Permissions derived from them, such as who may watch whose presence,
  // must be looked up again for those users. May be empty.
  std::function<void(const std::optional<std::vector<std::string>>& users)> relationships_changed;

 private:
  void NotifyRelationships(const WriteSet& writes);
};

}  // namespace chat::core
