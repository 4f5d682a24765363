#include "core/chat_service.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include "core/mentions.h"
#include "core/names.h"
#include "core/unread.h"
#include "core/utf8.h"

namespace chat::core {
namespace {

constexpr std::size_t kDefaultHistoryPage = 50;
constexpr std::size_t kDefaultSyncPage = 100;
constexpr std::size_t kDefaultConversationsPage = 50;
constexpr std::size_t kPreviewChars = 200;  // of a conversation's last message in the list
// Requests waiting for commits, all users together: past this the server answers "busy". A disk that
// stalls for seconds under full load fills it; a healthy one keeps it near empty.
constexpr std::size_t kMaxWaiting = 10000;

// Appends the messages' JSON to `out` while `budget` lasts; false when it ran out before the last.
bool TakeMessages(const std::vector<StoredMessage>& messages, ReplyBudget& budget, std::vector<std::string>* out) {
  for (const StoredMessage& message : messages) {
    std::string item = MessageJson(message);
    if (!budget.Take(item.size())) return false;
    out->push_back(std::move(item));
  }
  return true;
}

}  // namespace

void ChatService::SettingsChanged() {
  const Limits& limits = context_.limits;
  const PresenceSettings& presence = presence_.settings();
  send_rate_.SetRate(limits.send_rate_per_second, limits.send_burst);
  typing_rate_.SetRate(presence.typing_rate_per_second, presence.typing_burst);
  request_rate_.SetRate(limits.request_rate_per_second, limits.request_burst);
  send_bounds_ = RequestBoundsFor(/*is_send=*/true, limits);
  request_bounds_ = RequestBoundsFor(/*is_send=*/false, limits);
  presence_.SettingsChanged();
}

ChatService::ChatService(Store& store, CommitStage& stage, ReadWorker& reads, const Clock& clock,
                         MessageIdGenerator& ids, const Limits& limits, const PresenceSettings& presence,
                         const PushSettings& push, const AuthSettings& auth)
    : context_(store, stage, reads, clock, ids, limits),
      groups_(context_),
      changes_(context_, push_),  // push_ is constructed later; changes_ only keeps the reference
      search_(context_),
      contacts_(context_),
      presence_(context_, presence),
      push_(context_, push, [this](const std::string& user) { return presence_.HasConnectedDevice(user); }),
      resume_tokens_(context_, auth),
      send_rate_(clock, limits.send_rate_per_second, limits.send_burst),
      typing_rate_(clock, presence.typing_rate_per_second, presence.typing_burst),
      request_rate_(clock, limits.request_rate_per_second, limits.request_burst),
      send_bounds_(RequestBoundsFor(/*is_send=*/true, limits)),
      request_bounds_(RequestBoundsFor(/*is_send=*/false, limits)) {
  context_.relationships_changed = [this](const std::optional<std::vector<std::string>>& users) {
    presence_.ForgetPermissions(users);
  };
  using R = RateClass;
  constexpr Order kAfter = Order::kAfterCommits;
  auto on = [](auto* service, Status (std::remove_pointer_t<decltype(service)>::*handler)(const Request&)) {
    return [service, handler](const Request& r) { return (service->*handler)(r); };
  };
  AddRoute(RequestOp::kSend, R::kMessage, Order::kPipelined, on(this, &ChatService::Send));
  AddRoute(RequestOp::kHistory, R::kRequest, kAfter, on(this, &ChatService::History));
  AddRoute(RequestOp::kSync, R::kRequest, kAfter, on(this, &ChatService::Sync));
  AddRoute(RequestOp::kRead, R::kRequest, kAfter, on(this, &ChatService::Read));
  AddRoute(RequestOp::kConversations, R::kRequest, kAfter, on(this, &ChatService::Conversations));
  AddRoute(RequestOp::kGroupCreate, R::kRequest, kAfter, on(&groups_, &GroupService::Create));
  AddRoute(RequestOp::kGroupAdd, R::kRequest, kAfter, on(&groups_, &GroupService::Add));
  AddRoute(RequestOp::kGroupRemove, R::kRequest, kAfter, on(&groups_, &GroupService::Remove));
  AddRoute(RequestOp::kGroupLeave, R::kRequest, kAfter, on(&groups_, &GroupService::Leave));
  AddRoute(RequestOp::kGroupRename, R::kRequest, kAfter, on(&groups_, &GroupService::Rename));
  AddRoute(RequestOp::kGroups, R::kRequest, kAfter, on(&groups_, &GroupService::List));
  AddRoute(RequestOp::kGroupMembers, R::kRequest, kAfter, on(&groups_, &GroupService::Members));
  AddRoute(RequestOp::kGroupJoin, R::kRequest, kAfter, on(&groups_, &GroupService::Join));
  AddRoute(RequestOp::kGroupDecline, R::kRequest, kAfter, on(&groups_, &GroupService::Decline));
  AddRoute(RequestOp::kContactRequest, R::kRequest, kAfter, on(&contacts_, &ContactService::Ask));
  AddRoute(RequestOp::kContactAccept, R::kRequest, kAfter, on(&contacts_, &ContactService::Accept));
  AddRoute(RequestOp::kContactRemove, R::kRequest, kAfter, on(&contacts_, &ContactService::Remove));
  AddRoute(RequestOp::kContacts, R::kRequest, kAfter, on(&contacts_, &ContactService::List));
  AddRoute(RequestOp::kPresence, R::kRequest, kAfter, on(&presence_, &PresenceService::Query));
  AddRoute(RequestOp::kTyping, R::kTyping, Order::kPipelined, on(&presence_, &PresenceService::Typing));
  AddRoute(RequestOp::kHeartbeat, R::kUnmetered, kAfter, nullptr);  // the activity is recorded on arrival
  AddRoute(RequestOp::kBye, R::kRequest, kAfter, on(&presence_, &PresenceService::Bye));
  AddRoute(RequestOp::kPushRegister, R::kRequest, kAfter, on(&push_, &PushService::Register));
  AddRoute(RequestOp::kPushUnregister, R::kRequest, kAfter, on(&push_, &PushService::Unregister));
  AddRoute(RequestOp::kMute, R::kRequest, kAfter, on(&push_, &PushService::Mute));
  AddRoute(RequestOp::kPushResult, R::kRequest, kAfter, on(&push_, &PushService::ReportResult));
  AddRoute(RequestOp::kResumeToken, R::kRequest, kAfter, on(&resume_tokens_, &ResumeTokenService::Issue));
  // Edits and deletes read the message as stored: one in flight before them must be stored first.
  AddRoute(RequestOp::kEdit, R::kMessage, kAfter, on(&changes_, &MessageChangeService::Edit));
  AddRoute(RequestOp::kDelete, R::kRequest, kAfter, on(&changes_, &MessageChangeService::Delete));
  AddRoute(RequestOp::kSearch, R::kRequest, kAfter, on(&search_, &SearchService::Search));
  AddRoute(RequestOp::kMentions, R::kRequest, kAfter, on(&search_, &SearchService::Mentions));
  for (std::size_t op = 1; op <= kRequestOpCount; ++op) {
    if (!routes_[op].handle && routes_[op].rate != R::kUnmetered) {
      throw std::logic_error(std::string("request without a handler: ") + RequestOpName(static_cast<RequestOp>(op)));
    }
  }
}

void ChatService::AddRoute(RequestOp op, RateClass rate, Order order, std::function<Status(const Request&)> handle) {
  routes_[static_cast<std::size_t>(op)] = Route{rate, order, std::move(handle)};
}

RateGate ChatService::GateFor(RateClass rate) {
  switch (rate) {
    case RateClass::kMessage: return RateGate(&send_rate_, "sending too fast; slow down");
    case RateClass::kTyping: return RateGate(&typing_rate_, "typing indicators too fast");
    case RateClass::kUnmetered:
    case RateClass::kRequest: break;
  }
  return RateGate();
}

Status ChatService::Handle(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox) {
  context_.PublishCommitted(outbox);
  context_.reads.DeliverFinished(outbox);
  RunWaiting(outbox);
  std::string user(caller.user_id);
  presence_.OnActivity(user, outbox);  // every request is a sign of life
  context_.metrics.requests[static_cast<std::size_t>(op)].Add();
  const Route& route = routes_[static_cast<std::size_t>(op)];
  if (route.rate == RateClass::kUnmetered) return Status::Ok();
  Status refused;
  if (!request_rate_.TryAcquire(user)) {
    refused = Status::Error(ErrorCode::kRateLimited, "too many requests; slow down");
  } else if (waiting_.empty() && !MustWait(route)) {
    return Run(caller, op, payload, outbox);
  } else if (waiting_.size() >= kMaxWaiting) {
    refused = Status::Error(ErrorCode::kBusy, "the server is busy; try again shortly");
  } else {
    waiting_.push_back({user, std::string(caller.client_id), caller.is_admin, caller.history_floor, caller.is_service,
                        op, std::string(payload)});
    return Status::Ok();
  }
  context_.metrics.CountRejected(refused.code());
  context_.Reply(caller, outbox, ErrorJson(RequestOpName(op), RequestTag{}, refused));  // not parsed: no rid
  return refused;
}

bool ChatService::MustWait(const Route& route) const {
  return route.order == Order::kPipelined ? context_.SendsMustWait() : context_.CommitsPending();
}

void ChatService::RunWaiting(Outbox& outbox) {
  while (!waiting_.empty() && !MustWait(routes_[static_cast<std::size_t>(waiting_.front().op)])) {
    Waiting next = std::move(waiting_.front());
    waiting_.pop_front();
    Caller caller{next.user_id, next.client_id, next.is_admin, next.history_floor, next.is_service};
    IgnoreError(Run(caller, next.op, next.payload, outbox), "the caller has its error reply");
  }
}

void ChatService::OnTick(Outbox& outbox) {
  context_.PublishCommitted(outbox);
  context_.reads.DeliverFinished(outbox);
  context_.RetryRecovery();
  RunWaiting(outbox);
  presence_.OnTick(outbox);
  push_.OnTick(outbox);
  context_.FlushCommits();  // last: the timers above may have submitted too
}

Status ChatService::Run(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox) {
  const Route& route = routes_[static_cast<std::size_t>(op)];
  RequestFields& request = request_fields_;  // one parser's buffers for every request
  Status status;
  if (op == RequestOp::kUnknown) {
    status = Status::Error(ErrorCode::kBadRequest, "unknown request");
  } else if (status = request.Parse(payload, route.rate == RateClass::kMessage ? send_bounds_ : request_bounds_);
             status.ok()) {
    Transaction tx(context_.seqs);
    status = route.handle(Request{caller, request, tx, GateFor(route.rate), outbox});
    if (status.ok()) {
      tx.OnFailure(caller.client_id, caller.user_id, RequestOpName(op), request.tag());
      context_.Commit(std::move(tx), outbox,
                      route.order == Order::kPipelined ? LaterSends::kMayPass : LaterSends::kWait);
      return Status::Ok();
    }
  }
  context_.metrics.CountRejected(status.code());
  context_.Reply(caller, outbox, ErrorJson(RequestOpName(op), request.tag(), status));
  return status;
}

Result<std::optional<MessageId>> ChatService::EarlierSend(const Caller& caller, const std::string& cmid) {
  if (cmid.empty()) return std::optional<MessageId>();
  if (Status s = ValidateClientMessageId(cmid); !s.ok()) return s;
  // One being committed right now is not in the store yet.
  if (MessageId in_flight = context_.SendInFlight(caller.user_id, cmid)) return std::optional<MessageId>(in_flight);
  Result<std::optional<MessageId>> earlier = context_.store.FindByClientMessageId(std::string(caller.user_id), cmid);
  if (!earlier.ok()) return earlier.status();
  // An entry at or below the floor was left by an erased account of the same name: not this one's.
  if (*earlier && **earlier <= caller.history_floor) return std::optional<MessageId>();
  return *earlier;
}

Status ChatService::Send(const Request& r) {
  const RequestTag& tag = r.fields.tag();
  Result<std::optional<MessageId>> earlier = EarlierSend(r.caller, tag.cmid);
  if (!earlier.ok()) return earlier.status();
  if (*earlier) {
    // A retry of a send that was stored already (or is being stored: then the answer follows the
    // original's): acknowledge it again, store and deliver nothing.
    StoredMessage known;
    known.id = **earlier;
    known.created_at_ms = MessageIdGenerator::TimestampMillis(known.id);
    r.Reply(SendAckJson(tag, known, /*duplicate=*/true, /*seq=*/0));
    return Status::Ok();
  }
  StoredMessage message;
  if (Status s = context_.ReadText(r.fields, &message.text); !s.ok()) return s;
  Result<Target> target = context_.TargetOf(r.caller, r.fields, "to");
  if (!target.ok()) return target.status();
  Result<std::vector<std::string>> recipients = context_.Participants(r.caller, *target);
  if (!recipients.ok()) return recipients.status();
  if (Status s = r.rate.Take(r.caller.user_id); !s.ok()) return s;
  return BuildMessage(r, *target, *recipients, std::move(message));
}

Status ChatService::BuildMessage(const Request& r, const Target& target, const std::vector<std::string>& recipients,
                                 StoredMessage message) {
  WriteSet& writes = r.tx.writes;
  message.id = context_.NewId(r.tx);
  message.from = std::string(r.caller.user_id);
  message.created_at_ms = MessageIdGenerator::TimestampMillis(message.id);
  message.client_message_id = r.fields.tag().cmid;
  if (target.is_group()) {
    message.group_id = target.conversation.key;
    if (Status s = context_.NoteTookPart(message.group_id, message.from, &writes); !s.ok()) return s;
    if (Status s = context_.NoteMentions(recipients, &message, {}, &writes); !s.ok()) return s;
  } else {
    message.to = target.peer;
    writes.peers.reserve(2);
    writes.peers.push_back({message.from, {message.to, message.id}});
    if (message.to != message.from) writes.peers.push_back({message.to, {message.from, message.id}});
  }
  // Every device of every recipient gets the message, the sender's other devices included. The sending
  // device gets the ack instead, with the message's seq in its queue (one packet, not an event and an
  // ack), which keeps that device's sync position whole.
  r.tx.ReserveDeliveries(recipients.size());
  std::string event = MessageEventJson(message);
  std::string flagged = message.mentions.empty() ? "" : MessageEventJson(message, /*mentioned=*/true);
  QueueEntry entry{QueueEntry::Kind::kMessage, message.conversation(), message.id, "", message.created_at_ms};
  std::uint64_t own_seq = 0;
  for (const std::string& recipient : recipients) {
    if (recipient == message.from) {
      Result<std::uint64_t> seq = r.tx.DeliverToOtherDevices(recipient, entry, event, r.caller.client_id);
      if (!seq.ok()) return seq.status();
      own_seq = *seq;
    } else if (Status s = r.tx.Deliver(recipient, entry, Mentions(message, recipient) ? flagged : event); !s.ok()) {
      return s;
    }
  }
  // Push jobs for recipients with no device online go into the same write as the message.
  if (Status s = push_.OnMessage(message, recipients, r.tx); !s.ok()) return s;
  r.Reply(SendAckJson(r.fields.tag(), message, false, own_seq));
  writes.messages.push_back(std::move(message));
  return Status::Ok();
}

Status ChatService::History(const Request& r) {
  HistoryQuery query;
  std::uint64_t limit = std::min(kDefaultHistoryPage, context_.limits.max_history_page);
  if (Status s = r.fields.OptionalId("before", &query.before); !s.ok()) return s;
  if (Status s = r.fields.OptionalId("after", &query.after); !s.ok()) return s;
  if (Status s = r.fields.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  query.limit = std::min<std::size_t>(limit, context_.limits.max_history_page);
  query.max_bytes = context_.limits.max_reply_bytes;
  std::string order = "newest_first";
  if (Status s = r.fields.OptionalString("order", &order); !s.ok()) return s;
  if (order != "newest_first" && order != "oldest_first") {
    return Status::Error(ErrorCode::kBadRequest, "order must be \"newest_first\" or \"oldest_first\"");
  }
  query.newest_first = order == "newest_first";
  MessageId around = 0;
  if (Status s = r.fields.OptionalId("around", &around); !s.ok()) return s;
  if (around != 0 && (query.before != 0 || query.after != 0 || r.fields.Has("order"))) {
    return Status::Error(ErrorCode::kBadRequest, "around is asked for alone: without before, after or order");
  }
  Result<Target> target = context_.TargetOf(r.caller, r.fields, "peer");
  if (!target.ok()) return target.status();
  if (!target->is_group()) query.after = std::max(query.after, r.caller.history_floor);
  if (around != 0) return HistoryAround(r, *target, around, query);
  Result<MessagePage> page = context_.store.ReadConversation(target->conversation, query);
  if (!page.ok()) return page.status();
  ReplyBudget budget(context_.limits.max_reply_bytes);
  std::vector<std::string> messages;
  bool more = !TakeMessages(page->messages, budget, &messages) || page->more;
  r.Reply(HistoryJson(r.fields.tag(), target->conversation, target->peer, messages, more));
  return Status::Ok();
}

Status ChatService::HistoryAround(const Request& r, const Target& target, MessageId around, HistoryQuery query) {
  // The message itself and up to `limit` older ones, scanning down from it; then up to `limit` newer.
  // Each side may fill half the reply.
  query.max_bytes = context_.limits.max_reply_bytes / 2;
  HistoryQuery older = query;
  older.before = around + 1;
  older.limit = query.limit + 1;
  older.newest_first = true;
  Result<MessagePage> down = context_.store.ReadConversation(target.conversation, older);
  if (!down.ok()) return down.status();
  if (down->messages.empty() || down->messages.front().id != around) {
    return Status::Error(ErrorCode::kNotFound, "no such message in this conversation");
  }
  HistoryQuery newer = query;
  newer.after = around;
  newer.newest_first = false;
  Result<MessagePage> up = context_.store.ReadConversation(target.conversation, newer);
  if (!up.ok()) return up.status();

  ReplyBudget budget(context_.limits.max_reply_bytes);
  std::vector<std::string> before_it;  // nearest first, so a full budget drops the farthest
  bool more_before = !TakeMessages(down->messages, budget, &before_it) || down->more;
  std::vector<std::string> messages(std::make_move_iterator(before_it.rbegin()), std::make_move_iterator(before_it.rend()));
  bool more_after = !TakeMessages(up->messages, budget, &messages) || up->more;
  r.Reply(HistoryAroundJson(r.fields.tag(), target.conversation, target.peer, around, messages, more_before, more_after));
  return Status::Ok();
}

Status ChatService::Sync(const Request& r) {
  std::uint64_t after = 0;
  std::uint64_t limit = std::min(kDefaultSyncPage, context_.limits.max_sync_page);
  if (Status s = r.fields.OptionalNumber("after", 0, UINT64_MAX, &after); !s.ok()) return s;
  if (Status s = r.fields.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  limit = std::min<std::uint64_t>(limit, context_.limits.max_sync_page);
  std::string me(r.caller.user_id);
  Result<QueuePage> page = context_.store.ReadQueue(me, after, limit);
  if (!page.ok()) return page.status();
  std::vector<std::string> events;
  events.reserve(page->entries.size());
  ReplyBudget budget(context_.limits.max_reply_bytes);
  bool more = page->more;
  std::unordered_map<std::string, bool> member_of;  // group -> still a member (looked up once per page)
  for (const SequencedEntry& item : page->entries) {
    std::string event = EventFor(me, item, &member_of);
    if (event.empty()) return Status::Error(ErrorCode::kIoError, "could not read a queued message");
    if (!budget.Take(event.size())) {
      more = true;  // the page stops here; the next one starts at this entry's seq
      break;
    }
    events.push_back(std::move(event));
  }
  r.Reply(SyncJson(r.fields.tag(), events, *page, more));
  return Status::Ok();
}

std::string ChatService::EventFor(const std::string& me, const SequencedEntry& item,
                                  std::unordered_map<std::string, bool>* member_of) {
  const QueueEntry& entry = item.entry;
  if (entry.kind == QueueEntry::Kind::kEvent) return WithSeq(entry.event_json, item.seq);
  if (entry.conversation.is_group()) {
    // A removed member reads nothing of the group any more, not even through their old queue.
    auto [it, fresh] = member_of->try_emplace(entry.conversation.key, false);
    if (fresh) it->second = context_.store.CheckMember(entry.conversation.key, me).ok();
    if (!it->second) return WithSeq("{\"type\":\"missing\"}", item.seq);
  }
  Result<std::optional<StoredMessage>> message = context_.store.GetMessage(entry.conversation, entry.message_id);
  if (!message.ok()) return "";
  // Expired (retention.history_days shorter than queue_days): a hole in seq would stall every device.
  if (!*message) return WithSeq("{\"type\":\"missing\"}", item.seq);
  // Either way the message as it is now: an edited text or a tombstone, never what it was.
  return WithSeq(entry.kind == QueueEntry::Kind::kChange ? MessageChangeEventJson(**message)
                                                       : MessageEventJson(**message, Mentions(**message, me)),
                 item.seq);
}

Status ChatService::Read(const Request& r) {
  MessageId up_to = 0;
  if (Status s = r.fields.OptionalId("up_to", &up_to); !s.ok()) return s;
  if (up_to == 0) return Status::Error(ErrorCode::kBadRequest, "up_to is required");
  Result<Target> target = context_.TargetOf(r.caller, r.fields, "peer");
  if (!target.ok()) return target.status();
  const Conversation& conversation = target->conversation;
  // A position past the newest message would hide every later message's unread mark.
  Result<MessageId> newest = context_.store.LastMessageId(conversation);
  if (!newest.ok()) return newest.status();
  up_to = std::min(up_to, *newest);
  std::string me(r.caller.user_id);
  Result<MessageId> current = context_.store.GetReadPosition(me, conversation);
  if (!current.ok()) return current.status();
  if (up_to > *current) {
    // A moved read position is an event in the user's own queue, so every device converges on it.
    r.tx.writes.read_positions.push_back({me, conversation, up_to});
    if (conversation.is_group()) {
      if (Status s = context_.NoteTookPart(conversation.key, me, &r.tx.writes); !s.ok()) return s;
    }
    std::string event = ReadEventJson(conversation, target->peer, up_to, context_.clock.NowMillis());
    QueueEntry entry{QueueEntry::Kind::kEvent, {}, 0, event, context_.clock.NowMillis()};
    if (Status s = r.tx.Deliver(me, entry, event); !s.ok()) return s;
  }
  r.Reply(OkJson("read", r.fields.tag()));
  return Status::Ok();
}

Status ChatService::Conversations(const Request& r) {
  MessageId before = 0;
  std::uint64_t limit = std::min(kDefaultConversationsPage, context_.limits.max_conversations_page);
  if (Status s = r.fields.OptionalId("before", &before); !s.ok()) return s;
  if (Status s = r.fields.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  limit = std::min<std::uint64_t>(limit, context_.limits.max_conversations_page);
  std::string me(r.caller.user_id);
  // The store keeps the list in order (newest activity first): a page costs its own entries only.
  Result<InboxPage> inbox = context_.store.ReadInbox(me, before, limit);
  if (!inbox.ok()) return inbox.status();
  // A page ends at the reply budget, or once counting unread messages has read that much again.
  ReplyBudget budget(context_.limits.max_reply_bytes);
  std::size_t scan_left = context_.limits.max_reply_bytes;
  std::vector<std::string> items;
  bool more = inbox->more;
  MessageId next_before = 0;
  for (const InboxEntry& entry : inbox->entries) {
    if (scan_left == 0) {
      more = true;
      break;
    }
    Result<ConversationSummary> summary = Summarize(r.caller, entry, &scan_left);
    if (!summary.ok()) return summary.status();
    std::string item = ConversationJson(*summary);
    if (!budget.Take(item.size())) {
      more = true;
      break;
    }
    items.push_back(std::move(item));
    next_before = entry.activity;
  }
  r.Reply(ConversationsJson(r.fields.tag(), items, more ? next_before : 0));
  return Status::Ok();
}

Result<ConversationSummary> ChatService::Summarize(const Caller& caller, const InboxEntry& entry,
                                                   std::size_t* scan_left) {
  std::string me(caller.user_id);
  ConversationSummary summary;
  summary.conversation = entry.conversation;
  Result<MessageId> read = context_.store.GetReadPosition(me, entry.conversation);
  if (!read.ok()) return read.status();
  summary.read_up_to = *read;
  if (entry.conversation.is_group()) {
    Result<std::optional<GroupRecord>> group = context_.store.GetGroup(entry.conversation.key);
    if (!group.ok()) return group.status();
    summary.name = *group ? (*group)->name : "";
  } else {
    summary.peer = entry.conversation.PeerOf(me);
  }
  MessageId counted_from = UnreadCountedFrom(entry.conversation, *read, caller.history_floor);
  // A group's activity is its own id until somebody writes in it.
  if (!entry.conversation.is_group() || ParseMessageId(entry.conversation.key) != entry.activity) {
    summary.last_id = entry.activity;
    Result<std::optional<StoredMessage>> last = context_.store.GetMessage(entry.conversation, entry.activity);
    if (!last.ok()) return last.status();
    if (*last && (*last)->id > (entry.conversation.is_group() ? 0 : caller.history_floor)) {
      summary.last = std::move(**last);
      summary.last->text = PreviewOfValidUtf8(summary.last->text, kPreviewChars);
    }
  }
  Result<UnreadCount> unread = CountUnread(context_.store, me, entry, counted_from, *scan_left);
  if (!unread.ok()) return unread.status();
  summary.unread = *unread;
  *scan_left -= std::min(*scan_left, unread->bytes_read);
  return summary;
}

Status ChatService::CommitAccountChange(WriteSet writes, Outbox& outbox) {
  Transaction tx(context_.seqs);
  tx.writes = std::move(writes);
  return context_.CommitNow(std::move(tx), outbox);
}

Status ChatService::EraseAccount(const std::string& user_id, Outbox& outbox) {
  // Nothing the account asked for runs after it is gone.
  std::erase_if(waiting_, [&](const Waiting& w) { return w.user_id == user_id; });
  if (Status s = groups_.LeaveAll(user_id, outbox); !s.ok()) return s;
  if (Status s = contacts_.RemoveAll(user_id, outbox); !s.ok()) return s;
  Transaction tx(context_.seqs);
  tx.writes.erased_users.push_back(user_id);
  push_.ForgetUser(user_id, &tx.writes);
  if (Status s = context_.CommitNow(std::move(tx), outbox); !s.ok()) return s;
  context_.ForgetUser(user_id);
  presence_.ForgetPermissions(std::vector<std::string>{user_id});
  return Status::Ok();
}

}  // namespace chat::core
