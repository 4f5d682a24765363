// ContactService: a user's contact (friend) list: request, accept, remove, list. Contacts see each
// other's presence. Every change is a contact event in the sync queues of both users.
#pragma once

#include "core/outbox.h"
#include "core/protocol_format.h"
#include "core/service_context.h"
#include "core/topic_format.h"

namespace chat::core {

// Not thread-safe; borrows `context`, whose relationships_changed hook hears of every contact change.
class ContactService {
 public:
  explicit ContactService(ServiceContext& context) : context_(context) {}

  // Handles contact_request, contact_accept, contact_remove and contacts.
  Status Handle(const Caller& caller, RequestOp op, const RequestFields& request, Outbox& outbox);
  // Ends every relationship of `user_id` (a deleted account); the other sides get a "removed" event.
  Status RemoveAll(const std::string& user_id, Outbox& outbox);

 private:
  Status Request(const Caller& caller, const std::string& other, Outbox& outbox, const RequestTag& tag);
  // `op` names the request in the reply (a crossed contact_request is answered as such).
  Status Accept(const Caller& caller, const std::string& other, Outbox& outbox, const RequestTag& tag,
                const char* op = "contact_accept");
  Status Remove(const Caller& caller, const std::string& other, Outbox& outbox, const RequestTag& tag);
  Status List(const Caller& caller, Outbox& outbox, const RequestTag& tag);
  // Record, then replies `op` ok to the caller.
  Status Change(const Caller& caller, const std::string& other, ContactState mine, ContactState theirs,
                const char* event, const char* op, Outbox& outbox, const RequestTag& tag);

  // Stores both sides' new states and queues `event` ("added", ...) for both users.
  Status Record(const std::string& me, const std::string& other, ContactState mine, ContactState theirs,
                const char* event, Outbox& outbox);

  ServiceContext& context_;
};

}  // namespace chat::core
