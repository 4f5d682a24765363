#include "core/contact_service.h"

namespace chat::core {

Status ContactService::Handle(const Caller& caller, RequestOp op, const RequestFields& request, Outbox& outbox) {
  if (op == RequestOp::kContacts) return List(caller, outbox, request.tag());
  std::string other;
  if (Status s = request.RequiredString("user", &other); !s.ok()) return s;
  if (other == caller.user_id) return Status::Error(ErrorCode::kBadRequest, "that is you");
  if (Status s = context_.CheckUser(other); !s.ok()) return s;
  switch (op) {
    case RequestOp::kContactRequest: return Request(caller, other, outbox, request.tag());
    case RequestOp::kContactAccept: return Accept(caller, other, outbox, request.tag());
    case RequestOp::kContactRemove: return Remove(caller, other, outbox, request.tag());
    default: break;
  }
  return Status::Error(ErrorCode::kBadRequest, "unknown request");
}

Status ContactService::Change(const Caller& caller, const std::string& other, ContactState mine,
                              ContactState theirs, const char* event, const char* op, Outbox& outbox,
                              const RequestTag& tag) {
  if (Status s = Record(std::string(caller.user_id), other, mine, theirs, event, outbox); !s.ok()) return s;
  context_.Reply(caller, outbox, OkJson(op, tag));
  return Status::Ok();
}

Status ContactService::Record(const std::string& me, const std::string& other, ContactState mine, ContactState theirs,
                              const char* event, Outbox& outbox) {
  std::int64_t now = context_.clock.NowMillis();
  WriteSet writes;
  writes.contacts.push_back({me, other, mine});
  writes.contacts.push_back({other, me, theirs});
  // Each side hears of it in its own words: a request is "outgoing" for one and "incoming" for the other.
  std::string my_event = ContactEventJson(mine == ContactState::kOutgoing ? "outgoing" : event, other, now);
  std::string their_event = ContactEventJson(theirs == ContactState::kIncoming ? "incoming" : event, me, now);
  QueueEntry entry{QueueEntry::Kind::kEvent, {}, 0, "", now};
  Fanout fanout(context_.seqs);
  entry.event_json = my_event;
  if (Status s = fanout.Add(me, entry, my_event, &writes); !s.ok()) return s;
  entry.event_json = their_event;
  if (Status s = fanout.Add(other, entry, their_event, &writes); !s.ok()) {
    fanout.Abandon();
    return s;
  }
  return context_.Commit(writes, fanout, outbox);
}

Status ContactService::RemoveAll(const std::string& user_id, Outbox& outbox) {
  auto contacts = context_.store.ListContacts(user_id);
  if (!contacts.ok()) return contacts.status();
  for (const auto& [other, state] : *contacts) {
    if (Status s = Record(user_id, other, ContactState::kNone, ContactState::kNone, "removed", outbox); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

Status ContactService::Request(const Caller& caller, const std::string& other, Outbox& outbox, const RequestTag& tag) {
  Result<ContactState> state = context_.store.GetContact(std::string(caller.user_id), other);
  if (!state.ok()) return state.status();
  if (*state == ContactState::kIncoming) {
    return Accept(caller, other, outbox, tag, "contact_request");  // both asked: agreed
  }
  if (*state != ContactState::kNone) {
    context_.Reply(caller, outbox, OkJson("contact_request", tag));  // already asked, or already contacts
    return Status::Ok();
  }
  return Change(caller, other, ContactState::kOutgoing, ContactState::kIncoming, "requested", "contact_request",
                outbox, tag);
}

Status ContactService::Accept(const Caller& caller, const std::string& other, Outbox& outbox, const RequestTag& tag,
                              const char* op) {
  Result<ContactState> state = context_.store.GetContact(std::string(caller.user_id), other);
  if (!state.ok()) return state.status();
  if (*state == ContactState::kContact) {
    context_.Reply(caller, outbox, OkJson(op, tag));
    return Status::Ok();
  }
  if (*state != ContactState::kIncoming) return Status::Error(ErrorCode::kNotFound, "no contact request from " + other);
  return Change(caller, other, ContactState::kContact, ContactState::kContact, "added", op, outbox, tag);
}

Status ContactService::Remove(const Caller& caller, const std::string& other, Outbox& outbox, const RequestTag& tag) {
  Result<ContactState> state = context_.store.GetContact(std::string(caller.user_id), other);
  if (!state.ok()) return state.status();
  if (*state == ContactState::kNone) return Status::Error(ErrorCode::kNotFound, other + " is not a contact");
  return Change(caller, other, ContactState::kNone, ContactState::kNone, "removed", "contact_remove", outbox, tag);
}

Status ContactService::List(const Caller& caller, Outbox& outbox, const RequestTag& tag) {
  auto contacts = context_.store.ListContacts(std::string(caller.user_id));
  if (!contacts.ok()) return contacts.status();
  context_.Reply(caller, outbox, ContactsJson(tag, *contacts));
  return Status::Ok();
}

}  // namespace chat::core
