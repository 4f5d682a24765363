// ChatService: what the server does with a client's request (send, history), independent of Mosquitto.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/message_id.h"
#include "core/outbox.h"
#include "core/protocol_format.h"
#include "core/rate_limiter.h"
#include "core/settings.h"
#include "core/store.h"
#include "core/topic_format.h"

namespace chat::core {

// Who made a request: the authenticated user and the MQTT client (device) it came from.
struct Caller {
  std::string_view user_id;
  std::string_view client_id;
};

// Not thread-safe: one instance runs on the broker thread. Borrows every constructor argument.
class ChatService {
 public:
  ChatService(Store& store, const Clock& clock, MessageIdGenerator& ids, const Limits& limits);

  // Handles one request payload published on the topic of `op`. On success the results (ack, message
  // events, history page) are in `outbox` and Ok is returned. On rejection nothing is stored, an error
  // reply for the caller's device is in `outbox`, and the Status says why.
  Status Handle(const Caller& caller, RequestOp op, std::string_view payload, Outbox& outbox);

 private:
  Status Send(const Caller& caller, std::string_view payload, RequestTag* tag, Outbox& outbox);
  Status History(const Caller& caller, std::string_view payload, RequestTag* tag, Outbox& outbox);
  Status CheckPeer(const std::string& peer);

  Store& store_;
  MessageIdGenerator& ids_;
  const Limits& limits_;
  RateLimiter send_rate_;
};

}  // namespace chat::core
