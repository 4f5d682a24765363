#include "core/chat_service.h"

#include <algorithm>
#include <unordered_map>

#include "core/names.h"
#include "core/utf8.h"

namespace chat::core {
namespace {

constexpr std::size_t kDefaultHistoryPage = 50;
constexpr std::size_t kDefaultSyncPage = 100;
constexpr std::size_t kUnreadCap = 1000;

}  // namespace

ChatService::ChatService(Store& store, const Clock& clock, MessageIdGenerator& ids, const Limits& limits,
                         const SyncSettings& sync, const PresenceSettings& presence, const PushSettings& push)
    : context_(store, clock, ids, limits, sync),
      groups_(context_),
      contacts_(context_),
      presence_(context_, presence),
      push_(context_, push, [this](const std::string& user) { return presence_.HasConnectedDevice(user); }),
      send_rate_(clock, limits.send_rate_per_second, limits.send_burst),
      request_rate_(clock, limits.request_rate_per_second, limits.request_burst),
      send_bounds_(RequestBoundsFor(/*is_send=*/true, limits)),
      request_bounds_(RequestBoundsFor(/*is_send=*/false, limits)) {
  context_.relationships_changed = [this](const std::optional<std::vector<std::string>>& users) {
    presence_.ForgetPermissions(users);
  };
}

Status ChatService::Handle(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox) {
  std::string user(caller.user_id);
  presence_.OnActivity(user);  // every request is a sign of life
  if (op == RequestOp::kHeartbeat) return Status::Ok();
  RequestFields request;
  Status status;
  if (!request_rate_.TryAcquire(user)) {
    status = Status::Error(ErrorCode::kRateLimited, "too many requests; slow down");
  } else if (status = request.Parse(payload, op == RequestOp::kSend ? send_bounds_ : request_bounds_); status.ok()) {
    status = Dispatch(caller, op, request, outbox);
  }
  if (!status.ok()) context_.Reply(caller, outbox, ErrorJson(RequestOpName(op), request.tag(), status));
  return status;
}

Status ChatService::Dispatch(const Caller& caller, RequestOp op, const RequestFields& request, Outbox& outbox) {
  switch (op) {
    case RequestOp::kSend: return Send(caller, request, outbox);
    case RequestOp::kHistory: return History(caller, request, outbox);
    case RequestOp::kSync: return Sync(caller, request, outbox);
    case RequestOp::kRead: return Read(caller, request, outbox);
    case RequestOp::kConversations: return Conversations(caller, request, outbox);
    case RequestOp::kContactRequest:
    case RequestOp::kContactAccept:
    case RequestOp::kContactRemove:
    case RequestOp::kContacts: return contacts_.Handle(caller, op, request, outbox);
    case RequestOp::kPresence:
    case RequestOp::kTyping:
    case RequestOp::kHeartbeat:
    case RequestOp::kBye: return presence_.Handle(caller, op, request, outbox);
    case RequestOp::kPushRegister:
    case RequestOp::kPushUnregister:
    case RequestOp::kMute:
    case RequestOp::kPushResult: return push_.Handle(caller, op, request, outbox);
    case RequestOp::kUnknown: break;
    default: return groups_.Handle(caller, op, request, outbox);
  }
  return Status::Error(ErrorCode::kBadRequest, "unknown request");
}

Result<Conversation> ChatService::ConversationOf(const Caller& caller, const RequestFields& request,
                                                 const char* peer_field, std::string* peer) {
  std::string me(caller.user_id);
  if (request.Has("group")) {
    std::string group;
    if (Status s = request.RequiredString("group", &group); !s.ok()) return s;
    if (Status s = context_.CheckMember(group, me); !s.ok()) return s;
    return Conversation::Group(group);
  }
  if (Status s = request.RequiredString(peer_field, peer); !s.ok()) {
    return Status::Error(ErrorCode::kBadRequest, std::string(peer_field) + " or group is required");
  }
  if (Status s = context_.CheckUser(*peer); !s.ok()) return s;
  // Only the two participants can read a 1:1 conversation: the caller is always one side of it.
  return Conversation::Direct(me, *peer);
}

Status ChatService::Send(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  const RequestTag& tag = request.tag();
  if (!tag.cmid.empty()) {
    if (Status s = ValidateClientMessageId(tag.cmid); !s.ok()) return s;
  }
  std::string sender(caller.user_id);
  if (!tag.cmid.empty()) {
    // A retry of a send that was stored already: acknowledge it again, store and deliver nothing.
    Result<std::optional<MessageId>> earlier = context_.store.FindByClientMessageId(sender, tag.cmid);
    if (!earlier.ok()) return earlier.status();
    // An entry at or below the floor was left by an erased account of the same name: not this one's.
    if (earlier.value() && **earlier > caller.history_floor) {
      StoredMessage known;
      known.id = **earlier;
      known.created_at_ms = MessageIdGenerator::TimestampMillis(known.id);
      context_.Reply(caller, outbox, SendAckJson(tag, known, /*duplicate=*/true));
      return Status::Ok();
    }
  }

  StoredMessage message;
  if (Status s = request.RequiredString("text", &message.text); !s.ok()) return s;
  std::optional<std::size_t> chars = CountUtf8CodePoints(message.text);
  if (!chars) return Status::Error(ErrorCode::kBadUtf8, "text is not valid UTF-8");
  if (*chars == 0) return Status::Error(ErrorCode::kBadRequest, "text is empty");
  if (*chars > context_.limits.max_message_chars) {
    return Status::Error(ErrorCode::kTooLong, "text has " + std::to_string(*chars) + " characters; the limit is " +
                                                  std::to_string(context_.limits.max_message_chars));
  }
  std::vector<std::string> recipients;
  if (request.Has("group")) {
    if (Status s = request.RequiredString("group", &message.group_id); !s.ok()) return s;
    if (Status s = context_.CheckMember(message.group_id, sender); !s.ok()) return s;
    Result<std::vector<GroupMember>> members = context_.store.ListMembers(message.group_id);
    if (!members.ok()) return members.status();
    for (const GroupMember& m : *members) recipients.push_back(m.user_id);
  } else {
    if (Status s = request.RequiredString("to", &message.to); !s.ok()) {
      return Status::Error(ErrorCode::kBadRequest, "to or group is required");
    }
    if (Status s = context_.CheckUser(message.to); !s.ok()) return s;
    recipients.push_back(message.to);
    if (message.to != sender) recipients.push_back(sender);
  }
  if (!send_rate_.TryAcquire(sender)) return Status::Error(ErrorCode::kRateLimited, "sending too fast; slow down");

  message.id = context_.ids.Next();
  message.from = sender;
  message.created_at_ms = MessageIdGenerator::TimestampMillis(message.id);
  message.client_message_id = tag.cmid;

  WriteSet writes;
  writes.messages.push_back(message);
  if (!message.group_id.empty()) {
    if (Status s = context_.NoteTookPart(message.group_id, sender, &writes); !s.ok()) return s;
  }
  if (message.group_id.empty()) {
    writes.peers.push_back({message.from, {message.to, message.id}});
    if (message.to != message.from) writes.peers.push_back({message.to, {message.from, message.id}});
  }
  // Every device of every recipient gets the message, the sender's own devices included (the sending
  // one too: it carries the cmid, and its seq keeps that device's sync position whole).
  std::string event = MessageEventJson(message);
  QueueEntry entry{QueueEntry::Kind::kMessage, message.conversation(), message.id, "", message.created_at_ms};
  Fanout fanout(context_.seqs);
  if (Status s = fanout.AddAll(recipients, entry, event, &writes); !s.ok()) return s;
  // Push jobs for recipients with no device online go into the same write as the message.
  if (Status s = push_.OnMessage(message, recipients, &writes); !s.ok()) {
    fanout.Abandon();
    push_.Abandoned();
    return s;
  }
  if (Status s = context_.Commit(writes, fanout, outbox); !s.ok()) {
    push_.Abandoned();
    return s;
  }
  push_.Committed();
  context_.Reply(caller, outbox, SendAckJson(tag, message, false));
  return Status::Ok();
}

Status ChatService::History(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  HistoryQuery query;
  std::uint64_t limit = std::min(kDefaultHistoryPage, context_.limits.max_history_page);
  if (Status s = request.OptionalId("before", &query.before); !s.ok()) return s;
  if (Status s = request.OptionalId("after", &query.after); !s.ok()) return s;
  if (Status s = request.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  query.limit = std::min<std::size_t>(limit, context_.limits.max_history_page);
  query.max_bytes = context_.limits.max_reply_bytes;
  std::string order = "newest_first";
  if (Status s = request.OptionalString("order", &order); !s.ok()) return s;
  if (order != "newest_first" && order != "oldest_first") {
    return Status::Error(ErrorCode::kBadRequest, "order must be \"newest_first\" or \"oldest_first\"");
  }
  query.newest_first = order == "newest_first";
  std::string peer;
  Result<Conversation> conversation = ConversationOf(caller, request, "peer", &peer);
  if (!conversation.ok()) return conversation.status();
  if (!conversation->is_group()) query.after = std::max(query.after, caller.history_floor);
  Result<MessagePage> page = context_.store.ReadConversation(*conversation, query);
  if (!page.ok()) return page.status();
  ReplyBudget budget(context_.limits.max_reply_bytes);
  std::vector<std::string> messages;
  bool more = page->more;
  for (const StoredMessage& message : page->messages) {
    std::string item = MessageJson(message);
    if (!budget.Take(item.size())) {
      more = true;
      break;
    }
    messages.push_back(std::move(item));
  }
  context_.Reply(caller, outbox, HistoryJson(request.tag(), *conversation, peer, messages, more));
  return Status::Ok();
}

Status ChatService::Sync(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  std::uint64_t after = 0;
  std::uint64_t limit = std::min(kDefaultSyncPage, context_.limits.max_sync_page);
  if (Status s = request.OptionalNumber("after", 0, UINT64_MAX, &after); !s.ok()) return s;
  if (Status s = request.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  limit = std::min<std::uint64_t>(limit, context_.limits.max_sync_page);
  std::string me(caller.user_id);
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
  context_.Reply(caller, outbox, SyncJson(request.tag(), events, *page, more));
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
  // Never expected (messages are not deleted), but a hole in seq would stall every device.
  if (!*message) return WithSeq("{\"type\":\"missing\"}", item.seq);
  return WithSeq(MessageEventJson(**message), item.seq);
}

Status ChatService::Read(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  MessageId up_to = 0;
  if (Status s = request.OptionalId("up_to", &up_to); !s.ok()) return s;
  if (up_to == 0) return Status::Error(ErrorCode::kBadRequest, "up_to is required");
  std::string peer;
  Result<Conversation> conversation = ConversationOf(caller, request, "peer", &peer);
  if (!conversation.ok()) return conversation.status();
  // A position past the newest message would hide every later message's unread mark.
  Result<MessageId> newest = context_.store.LastMessageId(*conversation);
  if (!newest.ok()) return newest.status();
  up_to = std::min(up_to, *newest);
  std::string me(caller.user_id);
  Result<MessageId> current = context_.store.GetReadPosition(me, *conversation);
  if (!current.ok()) return current.status();
  if (up_to > *current) {
    // A moved read position is an event in the user's own queue, so every device converges on it.
    WriteSet writes;
    writes.read_positions.push_back({me, *conversation, up_to});
    if (conversation->is_group()) {
      if (Status s = context_.NoteTookPart(conversation->key, me, &writes); !s.ok()) return s;
    }
    std::string event = ReadEventJson(*conversation, peer, up_to, context_.clock.NowMillis());
    QueueEntry entry{QueueEntry::Kind::kEvent, {}, 0, event, context_.clock.NowMillis()};
    Fanout fanout(context_.seqs);
    if (Status s = fanout.Add(me, entry, event, &writes); !s.ok()) return s;
    if (Status s = context_.Commit(writes, fanout, outbox); !s.ok()) return s;
  }
  context_.Reply(caller, outbox, OkJson("read", request.tag()));
  return Status::Ok();
}

Status ChatService::Conversations(const Caller& caller, const RequestFields& request, Outbox& outbox) {
  MessageId before = 0;
  if (Status s = request.OptionalId("before", &before); !s.ok()) return s;
  std::string me(caller.user_id);
  // Each conversation with its activity: its newest message id, or for a group without messages the
  // group's own id (from the same generator), so every entry has a distinct, time-ordered cursor.
  std::vector<std::pair<MessageId, ConversationSummary>> list;
  Result<std::vector<DirectPeer>> peers = context_.store.ListDirectPeers(me);
  if (!peers.ok()) return peers.status();
  for (const DirectPeer& p : *peers) {
    ConversationSummary summary;
    summary.conversation = Conversation::Direct(me, p.peer);
    summary.peer = p.peer;
    summary.last_id = p.last_id;
    list.emplace_back(p.last_id, std::move(summary));
  }
  Result<std::vector<std::string>> groups = context_.store.ListUserGroups(me);
  if (!groups.ok()) return groups.status();
  for (const std::string& group_id : *groups) {
    Result<MessageId> last = context_.store.LastMessageId(Conversation::Group(group_id));
    if (!last.ok()) return last.status();
    ConversationSummary summary;
    summary.conversation = Conversation::Group(group_id);
    summary.last_id = *last;
    list.emplace_back(*last ? *last : ParseMessageId(group_id).value_or(0), std::move(summary));
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  // A page ends at the reply budget, or once counting unread messages has read that much again.
  ReplyBudget budget(context_.limits.max_reply_bytes);
  std::size_t scan_left = context_.limits.max_reply_bytes;
  std::vector<std::string> items;
  bool more = false;
  MessageId next_before = 0;
  for (auto& [activity, summary] : list) {
    if (before != 0 && activity >= before) continue;
    if (scan_left == 0) {
      more = true;
      break;
    }
    if (summary.conversation.is_group()) {
      Result<std::optional<GroupRecord>> group = context_.store.GetGroup(summary.conversation.key);
      if (!group.ok()) return group.status();
      summary.name = *group ? (*group)->name : "";
    }
    Result<MessageId> read = context_.store.GetReadPosition(me, summary.conversation);
    if (!read.ok()) return read.status();
    summary.read_up_to = *read;
    MessageId counted_from = summary.conversation.is_group() ? *read : std::max(*read, caller.history_floor);
    Result<UnreadCount> unread =
        context_.store.CountMessagesAfter(summary.conversation, counted_from, me, kUnreadCap, scan_left);
    if (!unread.ok()) return unread.status();
    summary.unread = *unread;
    scan_left -= std::min(scan_left, unread->bytes_read);
    std::string item = ConversationJson(summary);
    if (!budget.Take(item.size())) {
      more = true;
      break;
    }
    items.push_back(std::move(item));
    next_before = activity;
  }
  context_.Reply(caller, outbox, ConversationsJson(request.tag(), items, more ? next_before : 0));
  return Status::Ok();
}

Status ChatService::EraseAccount(const std::string& user_id, Outbox& outbox) {
  if (Status s = groups_.LeaveAll(user_id, outbox); !s.ok()) return s;
  if (Status s = contacts_.RemoveAll(user_id, outbox); !s.ok()) return s;
  WriteSet writes;
  writes.erased_users.push_back(user_id);
  push_.ForgetUser(user_id, &writes);
  if (Status s = context_.store.Apply(writes); !s.ok()) return s;
  presence_.ForgetPermissions(std::vector<std::string>{user_id});
  return Status::Ok();
}

}  // namespace chat::core
