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

  // Request handlers (see ChatService's request table): contact_request, contact_accept,
  // contact_remove, contacts.
  Status Ask(const Request& r);
  Status Accept(const Request& r);
  Status Remove(const Request& r);
  Status List(const Request& r);
  // Ends every relationship of `user_id` (a deleted account); the other sides get a "removed" event.
  Status RemoveAll(const std::string& user_id, Outbox& outbox);

 private:
  // The other user a contact request names ("user"): an existing account other than the caller.
  Result<std::string> OtherOf(const Request& r);
  // `op` names the request in the reply (a crossed contact_request is answered as such).
  Status AcceptFrom(const Request& r, const std::string& other, const char* op);
  // Record, then replies `op` ok to the caller.
  Status Change(const Request& r, const std::string& other, ContactState mine, ContactState theirs,
                const char* event, const char* op);

  // Adds both sides' new states to `tx` and queues `event` ("added", ...) for both users.
  Status Record(const std::string& me, const std::string& other, ContactState mine, ContactState theirs,
                const char* event, Transaction& tx);

  ServiceContext& context_;
};

}  // namespace chat::core
