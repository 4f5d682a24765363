// The JSON payloads of the chat protocol, parsed and built in one place. docs/PROTOCOL.md is their
// description for client authors; keep the two in step.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/records.h"
#include "core/status.h"

namespace chat::core {

// Fields every request may carry so the client can match the reply to it.
struct RequestTag {
  std::string rid;   // request id, echoed in the reply (optional)
  std::string cmid;  // client message id of a send (optional)
};

struct SendRequest {
  RequestTag tag;
  std::string to;
  std::string text;
};

struct HistoryRequest {
  RequestTag tag;
  std::string peer;
  HistoryQuery query;
};

// Parsing checks shape and types only (kBadRequest); business rules are the service's.
// `tag` is filled as far as the payload allowed, even on failure, so the error can carry it.
Status ParseSendRequest(std::string_view payload, SendRequest* out);
Status ParseHistoryRequest(std::string_view payload, std::size_t max_page, HistoryRequest* out);
// Best effort: the rid/cmid of a payload that failed validation before it was parsed.
RequestTag ExtractTag(std::string_view payload);

// {"type":"message", ...}: a stored message as delivered to every device of both users.
std::string MessageEventJson(const StoredMessage& message);
// {"type":"ack", ...}: the send was stored under `id`.
std::string SendAckJson(const RequestTag& tag, const StoredMessage& message, bool duplicate);
// {"type":"error", ...}: a request was rejected and nothing was stored.
std::string ErrorJson(std::string_view op, const RequestTag& tag, const Status& error);
// {"type":"history", ...}: one page of a conversation.
std::string HistoryJson(const RequestTag& tag, std::string_view peer, const MessagePage& page);

}  // namespace chat::core
