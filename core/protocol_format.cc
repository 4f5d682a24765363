#include "core/protocol_format.h"

#include <algorithm>

#include "core/message_id.h"
#include "core/utf8.h"

namespace chat::core {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxTagLength = 64;

Status BadRequest(std::string message) { return Status::Error(ErrorCode::kBadRequest, std::move(message)); }

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

void AddTag(const RequestTag& tag, json* object) {
  if (!tag.rid.empty()) (*object)["rid"] = tag.rid;
  if (!tag.cmid.empty()) (*object)["cmid"] = tag.cmid;
}

// How a conversation is named to a user: {"peer": other} or {"group": id}.
void AddConversation(const Conversation& conversation, std::string_view peer, json* object) {
  if (conversation.is_group()) {
    (*object)["group"] = conversation.key;
  } else {
    (*object)["peer"] = peer;
  }
}

json MessageObject(const StoredMessage& m) {
  json object = {{"id", FormatMessageId(m.id)}, {"from", m.from}, {"text", m.text}, {"ts", m.created_at_ms}};
  if (m.group_id.empty()) {
    object["to"] = m.to;
  } else {
    object["group"] = m.group_id;
  }
  if (!m.client_message_id.empty()) object["cmid"] = m.client_message_id;
  return object;
}

}  // namespace

// Longest list of user ids a request may carry, whatever the group limit (a presence query).
constexpr std::size_t kMaxRequestListItems = 1000;
// Longest user id as a JSON string with its separator: "<64 characters>",
constexpr std::size_t kListItemBytes = 70;
// Field names, rid, cmid and the other small fields of any request.
constexpr std::size_t kEnvelopeBytes = 4096;
constexpr std::size_t kEnvelopeValues = 64;
// "\ud83d\ude00": the most bytes one character can take in a JSON string.
constexpr std::size_t kMaxEscapedBytesPerChar = 12;

RequestBounds RequestBoundsFor(bool is_send, const Limits& limits) {
  std::size_t list_items = std::max(limits.max_group_members, kMaxRequestListItems);
  RequestBounds bounds;
  bounds.json.max_depth = 8;
  bounds.json.max_values = kEnvelopeValues + list_items;
  bounds.max_bytes = is_send ? kEnvelopeBytes + kMaxEscapedBytesPerChar * limits.max_message_chars
                             : kEnvelopeBytes + kListItemBytes * list_items;
  return bounds;
}

Status RequestFields::Parse(std::string_view payload, const RequestBounds& bounds) {
  if (payload.size() > bounds.max_bytes) {
    return Status::Error(ErrorCode::kTooLong, "payload is " + std::to_string(payload.size()) +
                                                  " bytes; the limit for this request is " +
                                                  std::to_string(bounds.max_bytes));
  }
  constexpr std::string_view kTagNames[] = {"rid", "cmid"};
  std::string_view tags[2];
  Status shape = ScanJson(payload, bounds.json, kTagNames, tags);
  for (auto [raw, field] : {std::pair{tags[0], &tag_.rid}, std::pair{tags[1], &tag_.cmid}}) {
    // Only a tag that would pass the checks below is echoed before parsing.
    if (raw.size() <= kMaxTagLength && std::all_of(raw.begin(), raw.end(), [](char c) { return c >= 0x20 && c < 0x7F; })) {
      *field = std::string(raw);
    }
  }
  if (!shape.ok()) return shape;
  // The whole payload must be UTF-8 before it is parsed, so invalid text gets its own error code.
  if (!CountUtf8CodePoints(payload)) return Status::Error(ErrorCode::kBadUtf8, "payload is not valid UTF-8");
  object_ = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (object_.is_discarded()) return BadRequest("payload is not valid JSON");
  if (!object_.is_object()) return BadRequest("payload must be a JSON object");
  tag_ = {};
  for (auto [name, field] : {std::pair{"rid", &tag_.rid}, std::pair{"cmid", &tag_.cmid}}) {
    auto it = object_.find(name);
    if (it == object_.end()) continue;
    if (!it->is_string()) return BadRequest(std::string(name) + " must be a string");
    if (it->get_ref<const std::string&>().size() > kMaxTagLength) {
      return BadRequest(std::string(name) + " is longer than 64 characters");
    }
    *field = it->get<std::string>();
  }
  return Status::Ok();
}

Status RequestFields::RequiredString(const char* name, std::string* out) const {
  if (!Has(name)) return BadRequest(std::string(name) + " is required");
  return OptionalString(name, out);
}

Status RequestFields::OptionalString(const char* name, std::string* out) const {
  auto it = object_.find(name);
  if (it == object_.end()) return Status::Ok();
  if (!it->is_string()) return BadRequest(std::string(name) + " must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status RequestFields::OptionalId(const char* name, MessageId* out) const {
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return BadRequest(std::string(name) + " must be a message id string");
  auto id = ParseMessageId(it->get_ref<const std::string&>());
  if (!id) return BadRequest(std::string(name) + " is not a message id");
  *out = *id;
  return Status::Ok();
}

Status RequestFields::OptionalNumber(const char* name, std::uint64_t min, std::uint64_t max,
                                     std::uint64_t* out) const {
  auto it = object_.find(name);
  if (it == object_.end()) return Status::Ok();
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() < min || it->get<std::uint64_t>() > max) {
    return BadRequest(std::string(name) + " must be an integer from " + std::to_string(min) + " to " +
                      std::to_string(max));
  }
  *out = it->get<std::uint64_t>();
  return Status::Ok();
}

Status RequestFields::OptionalBool(const char* name, bool* out) const {
  auto it = object_.find(name);
  if (it == object_.end()) return Status::Ok();
  if (!it->is_boolean()) return BadRequest(std::string(name) + " must be true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

Status RequestFields::OptionalStringList(const char* name, std::size_t max_items,
                                         std::vector<std::string>* out) const {
  auto it = object_.find(name);
  if (it == object_.end()) return Status::Ok();
  if (!it->is_array()) return BadRequest(std::string(name) + " must be an array of strings");
  if (it->size() > max_items) {
    return BadRequest(std::string(name) + " has more than " + std::to_string(max_items) + " entries");
  }
  out->clear();
  for (const json& item : *it) {
    if (!item.is_string()) return BadRequest(std::string(name) + " must be an array of strings");
    out->push_back(item.get<std::string>());
  }
  return Status::Ok();
}

bool ReplyBudget::Take(std::size_t bytes) {
  ++bytes;  // its separator
  if (first_) {
    first_ = false;
    left_ = bytes >= left_ ? 0 : left_ - bytes;
    return true;
  }
  if (bytes > left_) return false;
  left_ -= bytes;
  return true;
}

std::string MessageJson(const StoredMessage& message) { return Dump(MessageObject(message)); }

namespace {

// {<head fields>,"<name>":[<items>]}: rendered items are spliced in rather than parsed back.
std::string WithArray(const json& head, std::string_view name, const std::vector<std::string>& items) {
  std::string out = Dump(head);
  out.pop_back();
  out.append(",\"").append(name).append("\":[");
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out.append(items[i]);
  }
  out.append("]}");
  return out;
}

}  // namespace

std::string MessageEventJson(const StoredMessage& message) {
  json event = MessageObject(message);
  event["type"] = "message";
  return Dump(event);
}

std::string GroupEventJson(const GroupRecord& group, std::string_view event, std::string_view by,
                           const std::vector<std::string>& users, std::int64_t ts) {
  json object = {{"type", "group"}, {"group", group.group_id}, {"event", event}, {"by", by},
                 {"name", group.name},  {"ts", ts}};
  if (!users.empty()) object["users"] = users;
  return Dump(object);
}

std::string ReadEventJson(const Conversation& conversation, std::string_view peer, MessageId up_to, std::int64_t ts) {
  json object = {{"type", "read"}, {"up_to", FormatMessageId(up_to)}, {"ts", ts}};
  AddConversation(conversation, peer, &object);
  return Dump(object);
}

std::string WithSeq(std::string_view event_json, std::uint64_t seq) {
  // Every event is a JSON object: put "seq" first rather than parse and dump it again.
  std::string out = "{\"seq\":" + std::to_string(seq);
  if (event_json.size() > 2) out.push_back(',');
  out.append(event_json.substr(1));
  return out;
}

std::string ContactEventJson(std::string_view event, std::string_view other, std::int64_t ts) {
  return Dump(json{{"type", "contact"}, {"event", event}, {"user", other}, {"ts", ts}});
}

std::string TypingEventJson(std::string_view from, const Conversation& conversation, std::string_view peer) {
  json event = {{"type", "typing"}, {"from", from}};
  if (conversation.is_group()) {
    event["group"] = conversation.key;
  } else {
    event["to"] = peer;
  }
  return Dump(event);
}

namespace {

json PresenceObject(const PresenceState& state) {
  return {{"user", state.user_id}, {"state", state.online ? "online" : "offline"},
          {"last_active_at", state.last_active_ms}};
}

const char* ContactStateName(ContactState state) {
  switch (state) {
    case ContactState::kContact: return "contact";
    case ContactState::kOutgoing: return "outgoing";
    case ContactState::kIncoming: return "incoming";
    case ContactState::kNone: break;
  }
  return "none";
}

}  // namespace

std::string PresenceJson(const PresenceState& state) {
  json object = PresenceObject(state);
  object["type"] = "presence";
  return Dump(object);
}

std::string PresenceListJson(const RequestTag& tag, const std::vector<PresenceState>& states) {
  json users = json::array();
  for (const PresenceState& s : states) users.push_back(PresenceObject(s));
  json reply = {{"type", "presence"}, {"users", std::move(users)}};
  AddTag(tag, &reply);
  return Dump(reply);
}

std::string ContactsJson(const RequestTag& tag, const std::vector<std::pair<std::string, ContactState>>& contacts) {
  json list = json::array();
  for (const auto& [user, state] : contacts) list.push_back({{"user", user}, {"state", ContactStateName(state)}});
  json reply = {{"type", "contacts"}, {"contacts", std::move(list)}};
  AddTag(tag, &reply);
  return Dump(reply);
}

std::string SendAckJson(const RequestTag& tag, const StoredMessage& message, bool duplicate, std::uint64_t seq) {
  json ack = {{"type", "ack"}, {"op", "send"}, {"id", FormatMessageId(message.id)}, {"ts", message.created_at_ms}};
  if (seq != 0) ack["seq"] = seq;
  if (duplicate) ack["duplicate"] = true;
  AddTag(tag, &ack);
  return Dump(ack);
}

std::string ErrorJson(std::string_view op, const RequestTag& tag, const Status& error) {
  json reply = {{"type", "error"}, {"op", op}, {"code", ErrorCodeName(error.code())}, {"message", error.message()}};
  AddTag(tag, &reply);
  return Dump(reply);
}

std::string OkJson(std::string_view op, const RequestTag& tag) {
  json reply = {{"type", "ok"}, {"op", op}};
  AddTag(tag, &reply);
  return Dump(reply);
}

std::string HistoryJson(const RequestTag& tag, const Conversation& conversation, std::string_view peer,
                        const std::vector<std::string>& messages, bool more) {
  json reply = {{"type", "history"}, {"more", more}};
  AddConversation(conversation, peer, &reply);
  AddTag(tag, &reply);
  return WithArray(reply, "messages", messages);
}

std::string SyncJson(const RequestTag& tag, const std::vector<std::string>& events, const QueuePage& page, bool more) {
  json reply = {{"type", "sync"}, {"more", more}, {"last_seq", page.last_seq}};
  if (page.truncated) reply["truncated"] = true;
  AddTag(tag, &reply);
  return WithArray(reply, "events", events);
}

std::string GroupJson(const RequestTag& tag, const GroupRecord& group, const std::vector<GroupMember>& members,
                      const std::vector<std::string>& invited) {
  json names = json::array();
  for (const GroupMember& m : members) names.push_back(m.user_id);
  json reply = {{"type", "group"}, {"group", group.group_id}, {"name", group.name}, {"owner", group.owner},
                {"members", std::move(names)}};
  if (!invited.empty()) reply["invited"] = invited;
  AddTag(tag, &reply);
  return Dump(reply);
}

std::string GroupsJson(const RequestTag& tag, const std::vector<GroupSummary>& groups,
                       const std::vector<InviteSummary>& invites) {
  json list = json::array();
  for (const GroupSummary& g : groups) {
    list.push_back({{"group", g.group.group_id}, {"name", g.group.name}, {"owner", g.group.owner},
                    {"members", g.member_count}});
  }
  json waiting = json::array();
  for (const InviteSummary& i : invites) {
    waiting.push_back({{"group", i.invite.group_id}, {"name", i.name}, {"by", i.invite.by}, {"ts", i.invite.at_ms}});
  }
  json reply = {{"type", "groups"}, {"groups", std::move(list)}, {"invites", std::move(waiting)}};
  AddTag(tag, &reply);
  return Dump(reply);
}

std::string ConversationJson(const ConversationSummary& c) {
  json item = {{"last_id", FormatMessageId(c.last_id)}, {"read_up_to", FormatMessageId(c.read_up_to)},
               {"unread", c.unread.count}};
  if (!c.unread.complete) item["unread_capped"] = true;
  AddConversation(c.conversation, c.peer, &item);
  if (c.conversation.is_group()) item["name"] = c.name;
  return Dump(item);
}

std::string ConversationsJson(const RequestTag& tag, const std::vector<std::string>& conversations,
                              MessageId next_before) {
  json reply = {{"type", "conversations"}, {"more", next_before != 0}};
  if (next_before != 0) reply["next_before"] = FormatMessageId(next_before);
  AddTag(tag, &reply);
  return WithArray(reply, "conversations", conversations);
}

}  // namespace chat::core
