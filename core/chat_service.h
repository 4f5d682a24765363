// ChatService: what the server does with a client's request, independent of Mosquitto. Messages,
// history, sync, read marks and the conversation list live here; group management in GroupService.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "core/contact_service.h"
#include "core/group_service.h"
#include "core/outbox.h"
#include "core/presence_service.h"
#include "core/push_service.h"
#include "core/protocol_format.h"
#include "core/rate_limiter.h"
#include "core/service_context.h"
#include "core/topic_format.h"

namespace chat::core {

// Not thread-safe: one instance runs on the broker thread. Borrows every constructor argument.
class ChatService {
 public:
  ChatService(Store& store, const Clock& clock, MessageIdGenerator& ids, const Limits& limits,
              const SyncSettings& sync, const PresenceSettings& presence, const PushSettings& push);

  // Reads what an earlier run left to do (undelivered push jobs). Call once before the first request.
  Status Start() { return push_.Load(); }

  // Handles one request payload published on the topic of `op`. On success the results (ack, events,
  // reply) are in `outbox` and Ok is returned. On rejection nothing is stored, an error reply for the
  // caller's device is in `outbox`, and the Status says why.
  Status Handle(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox);

  // Erases what an account about to be deleted left: it leaves its groups (members are told, ownership
  // passes on), its contacts end (the others are told), its queue, read positions, conversation list,
  // tokens, mutes, invitations and pending pushes go. Messages it sent stay in their conversations'
  // history (for the other side); a later account of the same name never sees them (history_floor).
  // Several commits: if one fails, calling again finishes the job.
  Status EraseAccount(const std::string& user_id, Outbox& outbox);

  // Connections, disconnections and timers reach presence through here.
  PresenceService& presence() { return presence_; }
  PushService& push() { return push_; }
  // Timer work (presence grace periods, push jobs); call on every broker TICK.
  void OnTick(Outbox& outbox) {
    presence_.OnTick(outbox);
    push_.OnTick(outbox);
  }

 private:
  Status Dispatch(const Caller& caller, RequestOp op, const RequestFields& request, Outbox& outbox);
  Status Send(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status History(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Sync(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Read(const Caller& caller, const RequestFields& request, Outbox& outbox);
  Status Conversations(const Caller& caller, const RequestFields& request, Outbox& outbox);
  // A queue entry as the event `me` receives (a message's text looked up); "" when the store failed.
  std::string EventFor(const std::string& me, const SequencedEntry& item,
                       std::unordered_map<std::string, bool>* member_of);
  // The conversation a request names with "peer" (1:1) or "group", checked to be the caller's own.
  Result<Conversation> ConversationOf(const Caller& caller, const RequestFields& request, const char* peer_field,
                                      std::string* peer);

  ServiceContext context_;
  GroupService groups_;
  ContactService contacts_;
  PresenceService presence_;
  PushService push_;
  RateLimiter send_rate_;
  RateLimiter request_rate_;
  RequestBounds send_bounds_;
  RequestBounds request_bounds_;
};

}  // namespace chat::core
