#include "core/message_change_service.h"

#include "core/protocol_format.h"

namespace chat::core {

Result<MessageChangeService::Found> MessageChangeService::Find(const Request& r) {
  MessageId id = 0;
  if (Status s = r.fields.OptionalId("id", &id); !s.ok()) return s;
  if (id == 0) return Status::Error(ErrorCode::kBadRequest, "id is required");
  Result<Target> target = context_.TargetOf(r.caller, r.fields, "peer");
  if (!target.ok()) return target.status();
  Result<std::optional<StoredMessage>> message = context_.store.GetMessage(target->conversation, id);
  if (!message.ok()) return message.status();
  // A 1:1 message at or below the caller's history floor belongs to an erased account of the same name.
  if (!*message || (!target->is_group() && id <= r.caller.history_floor)) {
    return Status::Error(ErrorCode::kNotFound, "no such message in this conversation");
  }
  return Found{std::move(*target), std::move(**message)};
}

Status MessageChangeService::CheckSendersWindow(const Request& r, const StoredMessage& message) const {
  if (message.from != r.caller.user_id) {
    return Status::Error(ErrorCode::kNotAllowed, "only its sender may change a message");
  }
  std::int64_t window_ms = static_cast<std::int64_t>(context_.limits.edit_window_seconds) * 1000;
  if (window_ms == 0) return Status::Error(ErrorCode::kNotAllowed, "this server does not let messages be changed");
  if (context_.clock.NowMillis() - message.created_at_ms > window_ms) {
    return Status::Error(ErrorCode::kNotAllowed, "a message may be changed for " +
                                                     std::to_string(context_.limits.edit_window_seconds) +
                                                     " seconds after it was sent");
  }
  return Status::Ok();
}

Status MessageChangeService::Edit(const Request& r) {
  std::string text;
  if (Status s = context_.ReadText(r.fields, &text); !s.ok()) return s;
  Result<Found> found = Find(r);
  if (!found.ok()) return found.status();
  StoredMessage& message = found->message;
  if (message.deleted()) return Status::Error(ErrorCode::kNotFound, "the message was deleted");
  if (Status s = CheckSendersWindow(r, message); !s.ok()) return s;
  if (Status s = r.rate.Take(r.caller.user_id); !s.ok()) return s;
  message.text = std::move(text);
  message.edited_at_ms = context_.clock.NowMillis();
  Result<std::vector<std::string>> participants = context_.Participants(r.caller, found->target);
  if (!participants.ok()) return participants.status();
  if (found->target.is_group()) {
    // The mentions follow the new text: a name taken out is no longer mentioned, one put in is.
    std::vector<std::string> before = message.mentions;
    if (Status s = context_.NoteMentions(*participants, &message, before, &r.tx.writes); !s.ok()) return s;
  }
  return Publish(r, *participants, std::move(message));
}

Status MessageChangeService::Delete(const Request& r) {
  Result<Found> found = Find(r);
  if (!found.ok()) return found.status();
  StoredMessage& message = found->message;
  if (message.deleted()) {
    r.Reply(OkJson("delete", r.fields.tag()));  // deleted already: nothing changes, nobody is told again
    return Status::Ok();
  }
  bool moderating = false;
  if (found->target.is_group() && message.from != r.caller.user_id) {
    Result<std::optional<GroupRecord>> group = context_.store.GetGroup(message.group_id);
    if (!group.ok()) return group.status();
    moderating = *group && (*group)->owner == r.caller.user_id;
  }
  if (!moderating) {
    if (Status s = CheckSendersWindow(r, message); !s.ok()) return s;
  }
  message.text.clear();  // the text is gone from the store, not hidden
  message.deleted_by = std::string(r.caller.user_id);
  for (const std::string& user : message.mentions) r.tx.writes.mentions_removed.push_back({user, message.group_id, message.id});
  message.mentions.clear();
  message.mentions_all = false;
  Result<std::vector<std::string>> participants = context_.Participants(r.caller, found->target);
  if (!participants.ok()) return participants.status();
  return Publish(r, *participants, std::move(message));
}

Status MessageChangeService::Publish(const Request& r, const std::vector<std::string>& participants,
                                     StoredMessage message) {
  std::string event = MessageChangeEventJson(message);
  QueueEntry entry{QueueEntry::Kind::kChange, message.conversation(), message.id, "", context_.clock.NowMillis()};
  r.tx.ReserveDeliveries(participants.size());
  for (const std::string& user : participants) {
    if (Status s = r.tx.Deliver(user, entry, event); !s.ok()) return s;
  }
  push_.OnMessageChanged(message, participants, r.tx);
  r.Reply(OkJson(message.deleted() ? "delete" : "edit", r.fields.tag()));
  r.tx.writes.changed_messages.push_back(std::move(message));
  return Status::Ok();
}

}  // namespace chat::core
