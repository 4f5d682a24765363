// ServiceContext: what the request services (messages, groups) share: the store, time, ids, limits and
// the sync queue sequence numbers, plus the commit step every state-changing request ends with.
#pragma once

#include <functional>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/fanout.h"
#include "core/message_id.h"
#include "core/outbox.h"
#include "core/records.h"
#include "core/settings.h"
#include "core/store.h"

namespace chat::core {

// Who made a request: the authenticated user and the MQTT client (device) it came from.
struct Caller {
  std::string_view user_id;
  std::string_view client_id;
  bool is_admin = false;
  // 1:1 messages at or below this id predate the account (a re-created name): never shown to it.
  MessageId history_floor = 0;
};

class ServiceContext {
 public:
  ServiceContext(Store& store, const Clock& clock, MessageIdGenerator& ids, const Limits& limits,
                 const SyncSettings& sync)
      : store(store), clock(clock), ids(ids), limits(limits), sync(sync), seqs(store) {}

  // Stores `writes` in one batch, then publishes `fanout`'s events (and trims the recipients' queues
  // when a retention is set) and tells relationships_changed whose relationships the write changed.
  // On failure nothing is stored or published.
  Status Commit(const WriteSet& writes, Fanout& fanout, Outbox& outbox);
  // kUnknownPeer unless `user_id` names an existing account.
  Status CheckUser(const std::string& user_id);
  // kNotFound unless `user_id` is a member of `group_id` (a missing group and a non-member are one
  // answer, so outsiders learn nothing about groups).
  Status CheckMember(const std::string& group_id, const std::string& user_id);
  // Adds to `writes` that `user_id` took part in `group_id`, unless that is known already.
  Status NoteTookPart(const std::string& group_id, const std::string& user_id, WriteSet* writes);
  // Sends `reply` to the caller's device.
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
