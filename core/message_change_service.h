// MessageChangeService: a sender edits or deletes their own message (1:1 or group) within
// limits.edit_window_seconds of sending it; a group's owner deletes any message of the group. The stored
// message is replaced (a deletion keeps a tombstone with no text) and every device of every participant
// learns of it through its sync queue, as an `edit` or `delete` event that shows the message as it is.
#pragma once

#include "core/push_service.h"
#include "core/service_context.h"

namespace chat::core {

// Not thread-safe; borrows `context`.
class MessageChangeService {
 public:
  // `push` is told of every change (a pending notification must not show what was changed away).
  MessageChangeService(ServiceContext& context, PushService& push) : context_(context), push_(push) {}

  // Request handlers (see ChatService's request table): edit, delete.
  Status Edit(const Request& r);
  Status Delete(const Request& r);

 private:
  struct Found {
    Target target;
    StoredMessage message;
  };
  // The message "id" of the conversation the request names ("peer" or "group"), one the caller may
  // read; kNotFound otherwise.
  Result<Found> Find(const Request& r);
  // Whether the caller, as its sender, may still change `message` (kNotAllowed saying why not).
  Status CheckSendersWindow(const Request& r, const StoredMessage& message) const;
  // Stores the changed message and queues its event for every device of `participants`.
  Status Publish(const Request& r, const std::vector<std::string>& participants, StoredMessage message);

  ServiceContext& context_;
  PushService& push_;
};

}  // namespace chat::core
