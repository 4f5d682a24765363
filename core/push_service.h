// PushService: push tokens, muting, and durable push jobs for recipients with no device online, offered
// to the push bridge on chat/v1/service/push/jobs until it reports an outcome.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/outbox.h"
#include "core/protocol_format.h"
#include "core/service_context.h"
#include "core/topic_format.h"

namespace chat::core {

// Not thread-safe; borrows `context` and `settings`. `has_device_online(user)` tells whether a device
// of the user is connected right now.
class PushService {
 public:
  PushService(ServiceContext& context, const PushSettings& settings,
              std::function<bool(const std::string&)> has_device_online);

  // Reads the jobs left undone by an earlier run; they are offered again on the next tick.
  Status Load();

  // Adds to a message's transaction a new or collapsed job for every recipient (other than the sender)
  // with no device online, a push token, and the conversation not muted. The jobs are tracked once the
  // transaction is committed.
  Status OnMessage(const StoredMessage& message, const std::vector<std::string>& recipients, Transaction& tx);

  // A message edited or deleted while the notifications of `participants` still collapse (not yet
  // offered): a job whose newest message it is shows its new text; after a deletion its text is gone
  // from the job and the store, and a job of that message alone is dropped.
  void OnMessageChanged(const StoredMessage& message, const std::vector<std::string>& participants, Transaction& tx);

  // Offers due jobs and jobs whose lease ran out. Called on every broker TICK; works every 200 ms.
  void OnTick(Outbox& outbox);

  // Request handlers (see ChatService's request table): push_register, push_unregister, mute,
  // push_result.
  Status Register(const Request& r);
  Status Unregister(const Request& r);
  Status Mute(const Request& r);
  Status ReportResult(const Request& r);

  // A deleted account: its pending jobs are dropped (into `writes`) and nothing of it is remembered.
  // Its tokens and mutes go with the account's records (WriteSet::erased_users).
  void ForgetUser(const std::string& user_id, WriteSet* writes);

 private:
  struct Tracked {
    PushJob job;
    std::int64_t due_ms = 0;    // monotonic: when to offer it first
    std::int64_t lease_ms = 0;  // monotonic: when an unanswered offer is made again; 0 = not offered
  };
  Result<bool> HasTokens(const std::string& user_id);
  // Tracks committed jobs: offered once the collapse window has passed.
  void Track(std::vector<PushJob> jobs);
  void Offer(Tracked& tracked, std::int64_t now, Outbox& outbox, WriteSet* done);

  ServiceContext& context_;
  const PushSettings& settings_;
  std::function<bool(const std::string&)> has_device_online_;
  std::map<MessageId, Tracked> jobs_;
  std::unordered_map<std::string, MessageId> collapsing_;  // user -> job still taking messages
  std::unordered_map<std::string, bool> has_tokens_;       // cache of HasTokens
  std::int64_t next_tick_ms_ = 0;
};

}  // namespace chat::core
