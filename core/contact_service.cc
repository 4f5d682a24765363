#include "core/contact_service.h"

namespace chat::core {

Result<std::string> ContactService::OtherOf(const Request& r) {
  std::string other;
  if (Status s = r.fields.RequiredString("user", &other); !s.ok()) return s;
  if (other == r.caller.user_id) return Status::Error(ErrorCode::kBadRequest, "that is you");
  if (Status s = context_.CheckUser(other); !s.ok()) return s;
  return other;
}

Status ContactService::Change(const Request& r, const std::string& other, ContactState mine, ContactState theirs,
                              const char* event, const char* op) {
  if (Status s = Record(std::string(r.caller.user_id), other, mine, theirs, event, r.tx); !s.ok()) return s;
  r.Reply(OkJson(op, r.fields.tag()));
  return Status::Ok();
}

Status ContactService::Record(const std::string& me, const std::string& other, ContactState mine, ContactState theirs,
                              const char* event, Transaction& tx) {
  std::int64_t now = context_.clock.NowMillis();
  tx.writes.contacts.push_back({me, other, mine});
  tx.writes.contacts.push_back({other, me, theirs});
  // Each side hears of it in its own words: a request is "outgoing" for one and "incoming" for the other.
  std::string my_event = ContactEventJson(mine == ContactState::kOutgoing ? "outgoing" : event, other, now);
  std::string their_event = ContactEventJson(theirs == ContactState::kIncoming ? "incoming" : event, me, now);
  QueueEntry entry{QueueEntry::Kind::kEvent, {}, 0, "", now};
  entry.event_json = my_event;
  if (Status s = tx.Deliver(me, entry, my_event); !s.ok()) return s;
  entry.event_json = their_event;
  return tx.Deliver(other, entry, their_event);
}

Status ContactService::RemoveAll(const std::string& user_id, Outbox& outbox) {
  auto contacts = context_.store.ListContacts(user_id);
  if (!contacts.ok()) return contacts.status();
  for (const auto& [other, state] : *contacts) {
    Transaction tx(context_.seqs);
    if (Status s = Record(user_id, other, ContactState::kNone, ContactState::kNone, "removed", tx); !s.ok()) return s;
    if (Status s = context_.CommitNow(std::move(tx), outbox); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ContactService::Ask(const Request& r) {
  Result<std::string> other = OtherOf(r);
  if (!other.ok()) return other.status();
  Result<ContactState> state = context_.store.GetContact(std::string(r.caller.user_id), *other);
  if (!state.ok()) return state.status();
  if (*state == ContactState::kIncoming) {
    return AcceptFrom(r, *other, "contact_request");  // both asked: agreed
  }
  if (*state != ContactState::kNone) {
    r.Reply(OkJson("contact_request", r.fields.tag()));  // already asked, or already contacts
    return Status::Ok();
  }
  return Change(r, *other, ContactState::kOutgoing, ContactState::kIncoming, "requested", "contact_request");
}

Status ContactService::Accept(const Request& r) {
  Result<std::string> other = OtherOf(r);
  if (!other.ok()) return other.status();
  return AcceptFrom(r, *other, "contact_accept");
}

Status ContactService::AcceptFrom(const Request& r, const std::string& other, const char* op) {
  Result<ContactState> state = context_.store.GetContact(std::string(r.caller.user_id), other);
  if (!state.ok()) return state.status();
  if (*state == ContactState::kContact) {
    r.Reply(OkJson(op, r.fields.tag()));
    return Status::Ok();
  }
  if (*state != ContactState::kIncoming) return Status::Error(ErrorCode::kNotFound, "no contact request from " + other);
  return Change(r, other, ContactState::kContact, ContactState::kContact, "added", op);
}

Status ContactService::Remove(const Request& r) {
  Result<std::string> other = OtherOf(r);
  if (!other.ok()) return other.status();
  Result<ContactState> state = context_.store.GetContact(std::string(r.caller.user_id), *other);
  if (!state.ok()) return state.status();
  if (*state == ContactState::kNone) return Status::Error(ErrorCode::kNotFound, *other + " is not a contact");
  return Change(r, *other, ContactState::kNone, ContactState::kNone, "removed", "contact_remove");
}

Status ContactService::List(const Request& r) {
  auto contacts = context_.store.ListContacts(std::string(r.caller.user_id));
  if (!contacts.ok()) return contacts.status();
  r.Reply(ContactsJson(r.fields.tag(), *contacts));
  return Status::Ok();
}

}  // namespace chat::core
