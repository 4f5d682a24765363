#include "core/chat_service.h"

#include "core/names.h"
#include "core/protocol_format.h"
#include "core/utf8.h"

namespace chat::core {

ChatService::ChatService(Store& store, const Clock& clock, MessageIdGenerator& ids, const Limits& limits)
    : store_(store),
      ids_(ids),
      limits_(limits),
      send_rate_(clock, limits.send_rate_per_second, limits.send_burst) {}

Status ChatService::Handle(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox) {
  RequestTag tag;
  Status status;
  // The whole payload must be UTF-8 before it is parsed, so invalid text gets its own error code.
  if (!CountUtf8CodePoints(payload)) {
    tag = ExtractTag(payload);
    status = Status::Error(ErrorCode::kBadUtf8, "payload is not valid UTF-8");
  } else if (op == RequestOp::kSend) {
    status = Send(caller, payload, &tag, outbox);
  } else if (op == RequestOp::kHistory) {
    status = History(caller, payload, &tag, outbox);
  } else {
    status = Status::Error(ErrorCode::kBadRequest, "unknown request");
  }
  if (!status.ok()) {
    outbox.ToClient(std::string(caller.client_id), UserTopic(caller.user_id, kReplyKind),
                    ErrorJson(RequestOpName(op), tag, status));
  }
  return status;
}

Status ChatService::CheckPeer(const std::string& peer) {
  if (!ValidateUserId(peer).ok()) return Status::Error(ErrorCode::kUnknownPeer, "no such user");
  Status exists = store_.UserExists(peer);
  if (exists.code() == ErrorCode::kNotFound) return Status::Error(ErrorCode::kUnknownPeer, "no such user");
  return exists;
}

Status ChatService::Send(const Caller& caller, std::string_view payload, RequestTag* tag, Outbox& outbox) {
  SendRequest request;
  Status parsed = ParseSendRequest(payload, &request);
  *tag = request.tag;
  if (!parsed.ok()) return parsed;
  if (!tag->cmid.empty()) {
    if (Status s = ValidateClientMessageId(tag->cmid); !s.ok()) return s;
  }

  std::string sender(caller.user_id);
  std::string reply_topic = UserTopic(sender, kReplyKind);
  if (!tag->cmid.empty()) {
    // A retry of a send that was stored already: acknowledge it again, store and deliver nothing.
    Result<std::optional<MessageId>> earlier = store_.FindByClientMessageId(sender, tag->cmid);
    if (!earlier.ok()) return earlier.status();
    if (earlier.value()) {
      StoredMessage known;
      known.id = **earlier;
      known.created_at_ms = MessageIdGenerator::TimestampMillis(known.id);
      outbox.ToClient(std::string(caller.client_id), reply_topic, SendAckJson(*tag, known, /*duplicate=*/true));
      return Status::Ok();
    }
  }

  std::optional<std::size_t> chars = CountUtf8CodePoints(request.text);
  if (!chars) return Status::Error(ErrorCode::kBadUtf8, "text is not valid UTF-8");
  if (*chars == 0) return Status::Error(ErrorCode::kBadRequest, "text is empty");
  if (*chars > limits_.max_message_chars) {
    return Status::Error(ErrorCode::kTooLong, "text has " + std::to_string(*chars) + " characters; the limit is " +
                                                  std::to_string(limits_.max_message_chars));
  }
  if (Status s = CheckPeer(request.to); !s.ok()) return s;
  if (!send_rate_.TryAcquire(sender)) return Status::Error(ErrorCode::kRateLimited, "sending too fast; slow down");

  StoredMessage message;
  message.id = ids_.Next();
  message.from = sender;
  message.to = request.to;
  message.text = std::move(request.text);
  message.created_at_ms = MessageIdGenerator::TimestampMillis(message.id);
  message.client_message_id = tag->cmid;
  if (Status s = store_.AppendDirectMessage(message); !s.ok()) return s;

  // Every device of both users gets the message on its user topic, the sending device included: it
  // carries the cmid, so that device can tell its own message from a new one.
  std::string event = MessageEventJson(message);
  if (message.to != message.from) outbox.ToTopic(UserTopic(message.to, kMessageKind), event);
  outbox.ToTopic(UserTopic(message.from, kMessageKind), std::move(event));
  outbox.ToClient(std::string(caller.client_id), std::move(reply_topic), SendAckJson(*tag, message, false));
  return Status::Ok();
}

Status ChatService::History(const Caller& caller, std::string_view payload, RequestTag* tag, Outbox& outbox) {
  HistoryRequest request;
  Status parsed = ParseHistoryRequest(payload, limits_.max_history_page, &request);
  *tag = request.tag;
  if (!parsed.ok()) return parsed;
  // Only the two participants can read a conversation: the caller is always one side of it.
  if (Status s = CheckPeer(request.peer); !s.ok()) return s;
  std::string me(caller.user_id);
  Result<MessagePage> page = store_.ReadDirectConversation(me, request.peer, request.query);
  if (!page.ok()) return page.status();
  outbox.ToClient(std::string(caller.client_id), UserTopic(me, kReplyKind), HistoryJson(*tag, request.peer, *page));
  return Status::Ok();
}

}  // namespace chat::core
