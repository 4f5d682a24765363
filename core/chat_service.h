// ChatService: what the server does with a client's request, independent of Mosquitto. Messages,
// history, sync, read marks and the conversation list live here; group management in GroupService.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/contact_service.h"
#include "core/group_service.h"
#include "core/message_change_service.h"
#include "core/search_service.h"
#include "core/outbox.h"
#include "core/presence_service.h"
#include "core/push_service.h"
#include "core/protocol_format.h"
#include "core/rate_limiter.h"
#include "core/resume_token_service.h"
#include "core/service_context.h"
#include "core/topic_format.h"

namespace chat::core {

// Not thread-safe: one instance runs on the broker thread. Borrows every constructor argument.
class ChatService {
 public:
  // `stage` stores what requests change (see CommitStage); the results of a request go out once its
  // writes are stored, from Handle or OnTick, whichever runs first after that. `reads` runs the reads
  // too long for the broker thread (ReadWorker); their results go out from Handle or OnTick too.
  ChatService(Store& store, CommitStage& stage, ReadWorker& reads, const Clock& clock, MessageIdGenerator& ids,
              const Limits& limits, const PresenceSettings& presence, const PushSettings& push,
              const AuthSettings& auth);

  // Reads what an earlier run left to do (undelivered push jobs). Call once before the first request.
  Status Start() { return push_.Load(); }
  // The settings it borrows changed (a reloaded config): what was derived from them is derived again.
  // Later requests see the new limits, rates and presence timeout; nothing stored changes.
  void SettingsChanged();

  // Handles one request payload published on the topic of `op`. On rejection nothing is stored, an
  // error reply for the caller's device is in `outbox`, and the Status says why. Otherwise Ok: the
  // results (ack, events, reply) go to `outbox` once what the request wrote is stored, or, when it
  // could not be, an error reply. A request that reads what requests before it wrote (anything but a
  // send or a typing signal) waits until they are stored; requests run in the order they came.
  Status Handle(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox);
  // Where a user's events go: their devices (see Transaction::DeviceLookup).
  void DeliverTo(Transaction::DeviceLookup devices) { context_.devices_of = std::move(devices); }
  // Who hears of a failed commit and of the store taking writes again (ServiceContext::commit_failed,
  // store_recovered): the operator must.
  void OnStorageEvents(decltype(ServiceContext::commit_failed) failed, std::function<void()> recovered) {
    context_.commit_failed = std::move(failed);
    context_.store_recovered = std::move(recovered);
  }

  // Erases what an account about to be deleted left: it leaves its groups (members are told, ownership
  // passes on), its contacts end (the others are told), its queue, read positions, conversation list,
  // tokens, mutes, invitations and pending pushes go. Messages it sent stay in their conversations'
  // history (for the other side); a later account of the same name never sees them (history_floor).
  // Several commits: if one fails, calling again finishes the job.
  Status EraseAccount(const std::string& user_id, Outbox& outbox);

  // Stores what an account change implies beyond the account's record (its resume tokens revoked)
  // after every request accepted before it, and waits: a token being issued as the password changes
  // is stored first, and so revoked.
  Status CommitAccountChange(WriteSet writes, Outbox& outbox);

  // What it counted (the broker thread's counters; any thread may read them).
  ServerMetrics& metrics() { return context_.metrics; }
  const ServerMetrics& metrics() const { return context_.metrics; }
  // The presence state, for ConnectionService (logins and logouts are presence changes).
  PresenceService& presence() { return presence_; }
  // What was stored since the last call is published and the requests that waited for it run; then
  // timer work (presence grace periods, push jobs); last, what this loop pass submitted is let go to
  // the commit stage (CommitStage::Flush). Call on every broker TICK, the end of each loop pass.
  void OnTick(Outbox& outbox);

 private:
  // Which bucket besides the per-user request rate a request type draws from.
  enum class RateClass {
    kUnmetered,  // heartbeat: nothing but the activity it records
    kRequest,    // the request rate only
    kMessage,    // also the send rate (and the larger JSON bounds of a message)
    kTyping,     // also the typing rate
  };
  // Whether a request type may be prepared while earlier requests are being committed.
  enum class Order {
    kPipelined,  // send, typing: what they check is only changed by kAfterCommits requests
    kAfterCommits,  // reads or changes what earlier requests wrote: waits until they are stored
  };
  // One row of the request table.
  struct Route {
    RateClass rate = RateClass::kRequest;
    Order order = Order::kAfterCommits;
    std::function<Status(const Request&)> handle;  // null: nothing to do (heartbeat)
  };
  // A request that came while it had to wait, kept until it may run.
  struct Waiting {
    std::string user_id;
    std::string client_id;
    bool is_admin = false;
    MessageId history_floor = 0;
    bool is_service = false;
    RequestOp op = RequestOp::kUnknown;
    std::string payload;
  };
  // The request table: every RequestOp has exactly one row (checked at construction).
  void AddRoute(RequestOp op, RateClass rate, Order order, std::function<Status(const Request&)> handle);
  RateGate GateFor(RateClass rate);
  bool MustWait(const Route& route) const;
  // Parses, handles and commits one request.
  Status Run(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox);
  // Runs the waiting requests that may run now, in the order they came.
  void RunWaiting(Outbox& outbox);

  Status Send(const Request& r);
  // A retry of a send stored already: the id it was stored under; nullopt for a new message.
  Result<std::optional<MessageId>> EarlierSend(const Caller& caller, const std::string& cmid);
  // Fills the transaction with a valid message for `recipients`: stored, queued, pushed, acknowledged.
  Status BuildMessage(const Request& r, const Target& target, const std::vector<std::string>& recipients,
                      StoredMessage message);
  Status History(const Request& r);
  // A window of history around one message (jump to message): it, up to `query.limit` before and after.
  Status HistoryAround(const Request& r, const Target& target, MessageId around, HistoryQuery query);
  Status Sync(const Request& r);
  Status Read(const Request& r);
  Status Conversations(const Request& r);
  // One entry of the caller's conversation list: read position, unread count (a scan that costs
  // `scan_left` what it reads), the last message's preview, a group's name.
  Result<ConversationSummary> Summarize(const Caller& caller, const InboxEntry& entry, std::size_t* scan_left);
  // A queue entry as the event `me` receives (a message's text looked up); "" when the store failed.
  std::string EventFor(const std::string& me, const SequencedEntry& item,
                       std::unordered_map<std::string, bool>* member_of);

  ServiceContext context_;
  GroupService groups_;
  MessageChangeService changes_;
  SearchService search_;
  ContactService contacts_;
  PresenceService presence_;
  PushService push_;
  ResumeTokenService resume_tokens_;
  RateLimiter send_rate_;
  RateLimiter typing_rate_;
  RateLimiter request_rate_;
  RequestBounds send_bounds_;
  RequestBounds request_bounds_;
  std::array<Route, kRequestOpCount + 1> routes_;  // indexed by RequestOp
  // The request being run (Run is never re-entered): its parser keeps its buffers between requests.
  RequestFields request_fields_;
  std::deque<Waiting> waiting_;
};

}  // namespace chat::core
