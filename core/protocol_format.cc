#include "core/protocol_format.h"

#include <nlohmann/json.hpp>

#include "core/message_id.h"

namespace chat::core {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxTagLength = 64;

Status BadRequest(std::string message) { return Status::Error(ErrorCode::kBadRequest, std::move(message)); }

// Copies a short string field into `out`; absent is fine, another type or an overlong value is not.
Status ReadTagField(const json& object, const char* name, std::string* out) {
  auto it = object.find(name);
  if (it == object.end()) return Status::Ok();
  if (!it->is_string()) return BadRequest(std::string(name) + " must be a string");
  const auto& value = it->get_ref<const std::string&>();
  if (value.size() > kMaxTagLength) return BadRequest(std::string(name) + " is longer than 64 characters");
  *out = value;
  return Status::Ok();
}

Status ParseObject(std::string_view payload, json* object, RequestTag* tag) {
  *object = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (object->is_discarded()) return BadRequest("payload is not valid JSON");
  if (!object->is_object()) return BadRequest("payload must be a JSON object");
  if (Status s = ReadTagField(*object, "rid", &tag->rid); !s.ok()) return s;
  return ReadTagField(*object, "cmid", &tag->cmid);
}

Status ReadRequiredString(const json& object, const char* name, std::string* out) {
  auto it = object.find(name);
  if (it == object.end()) return BadRequest(std::string(name) + " is required");
  if (!it->is_string()) return BadRequest(std::string(name) + " must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadOptionalId(const json& object, const char* name, MessageId* out) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return BadRequest(std::string(name) + " must be a message id string");
  auto id = ParseMessageId(it->get_ref<const std::string&>());
  if (!id) return BadRequest(std::string(name) + " is not a message id");
  *out = *id;
  return Status::Ok();
}

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

json MessageObject(const StoredMessage& m) {
  json object = {{"id", FormatMessageId(m.id)},
                 {"from", m.from},
                 {"to", m.to},
                 {"text", m.text},
                 {"ts", m.created_at_ms}};
  if (!m.client_message_id.empty()) object["cmid"] = m.client_message_id;
  return object;
}

void AddTag(const RequestTag& tag, json* object) {
  if (!tag.rid.empty()) (*object)["rid"] = tag.rid;
  if (!tag.cmid.empty()) (*object)["cmid"] = tag.cmid;
}

}  // namespace

Status ParseSendRequest(std::string_view payload, SendRequest* out) {
  json object;
  if (Status s = ParseObject(payload, &object, &out->tag); !s.ok()) return s;
  if (Status s = ReadRequiredString(object, "to", &out->to); !s.ok()) return s;
  return ReadRequiredString(object, "text", &out->text);
}

Status ParseHistoryRequest(std::string_view payload, std::size_t max_page, HistoryRequest* out) {
  json object;
  if (Status s = ParseObject(payload, &object, &out->tag); !s.ok()) return s;
  if (Status s = ReadRequiredString(object, "peer", &out->peer); !s.ok()) return s;
  if (Status s = ReadOptionalId(object, "before", &out->query.before); !s.ok()) return s;
  if (Status s = ReadOptionalId(object, "after", &out->query.after); !s.ok()) return s;
  out->query.limit = max_page < 50 ? max_page : 50;
  if (auto it = object.find("limit"); it != object.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1) return BadRequest("limit must be a positive integer");
    auto limit = it->get<std::int64_t>();
    out->query.limit = static_cast<std::size_t>(limit) > max_page ? max_page : static_cast<std::size_t>(limit);
  }
  out->query.newest_first = true;
  if (auto it = object.find("order"); it != object.end()) {
    if (*it == "newest_first") {
      out->query.newest_first = true;
    } else if (*it == "oldest_first") {
      out->query.newest_first = false;
    } else {
      return BadRequest("order must be \"newest_first\" or \"oldest_first\"");
    }
  }
  return Status::Ok();
}

RequestTag ExtractTag(std::string_view payload) {
  // The payload may be invalid UTF-8, which the JSON parser refuses outright. Non-ASCII bytes can only
  // sit inside strings, so masking them keeps the structure and the (ASCII) rid and cmid readable.
  std::string ascii(payload);
  for (char& c : ascii) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  RequestTag tag;
  json object;
  IgnoreError(ParseObject(ascii, &object, &tag), "best effort: the caller reports the real error");
  return tag;
}

std::string MessageEventJson(const StoredMessage& message) {
  json event = MessageObject(message);
  event["type"] = "message";
  return Dump(event);
}

std::string SendAckJson(const RequestTag& tag, const StoredMessage& message, bool duplicate) {
  json ack = {{"type", "ack"}, {"op", "send"}, {"id", FormatMessageId(message.id)}, {"ts", message.created_at_ms}};
  if (duplicate) ack["duplicate"] = true;
  AddTag(tag, &ack);
  return Dump(ack);
}

std::string ErrorJson(std::string_view op, const RequestTag& tag, const Status& error) {
  json reply = {{"type", "error"}, {"op", op}, {"code", ErrorCodeName(error.code())}, {"message", error.message()}};
  AddTag(tag, &reply);
  return Dump(reply);
}

std::string HistoryJson(const RequestTag& tag, std::string_view peer, const MessagePage& page) {
  json messages = json::array();
  for (const StoredMessage& m : page.messages) messages.push_back(MessageObject(m));
  json reply = {{"type", "history"}, {"peer", peer}, {"messages", std::move(messages)}, {"more", page.more}};
  AddTag(tag, &reply);
  return Dump(reply);
}

}  // namespace chat::core
