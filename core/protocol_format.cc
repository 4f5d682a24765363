#include "core/protocol_format.h"

#include <algorithm>

#include <simdjson.h>

#include "core/json_writer.h"
#include "core/message_id.h"
#include "core/utf8.h"

namespace chat::core {
namespace {

constexpr std::size_t kMaxTagLength = 64;

Status BadRequest(std::string message) { return Status::Error(ErrorCode::kBadRequest, std::move(message)); }

void AddTag(const RequestTag& tag, JsonWriter* object) {
  if (!tag.rid.empty()) object->String("rid", tag.rid);
  if (!tag.cmid.empty()) object->String("cmid", tag.cmid);
}

// How a conversation is named to a user: {"peer": other} or {"group": id}.
void AddConversation(const Conversation& conversation, std::string_view peer, JsonWriter* object) {
  if (conversation.is_group()) {
    object->String("group", conversation.key);
  } else {
    object->String("peer", peer);
  }
}

// A message's members after whatever the caller put first ("type" for an event).
void AddMessage(const StoredMessage& m, JsonWriter* object) {
  object->Id("id", m.id).String("from", m.from);
  if (m.group_id.empty()) {
    object->String("to", m.to);
  } else {
    object->String("group", m.group_id);
  }
  if (m.deleted()) {
    object->Bool("deleted", true).String("deleted_by", m.deleted_by);
  } else {
    object->String("text", m.text);
  }
  object->Int("ts", m.created_at_ms);
  if (m.edited_at_ms != 0) object->Int("edited_at", m.edited_at_ms);
  if (!m.client_message_id.empty()) object->String("cmid", m.client_message_id);
  if (m.deleted()) return;
  if (m.mentions_all) {
    object->Bool("mentions_all", true);
  } else if (!m.mentions.empty()) {
    object->StringArray("mentions", m.mentions);
  }
}

// Room for a message's JSON: its text (escaping rarely grows it much) and the other members.
std::size_t MessageJsonBytes(const StoredMessage& m) { return m.text.size() + 160 + 70 * m.mentions.size(); }

// A page of a list that goes on below an id: {"type", tag, "more", "next_before" when there is more,
// "partial" when set, and the items under `items_key`}.
std::string PageJson(std::string_view type, const RequestTag& tag, std::string_view items_key,
                     const std::vector<std::string>& items, MessageId next_before, bool partial = false) {
  JsonWriter reply;
  reply.String("type", type);
  AddTag(tag, &reply);
  reply.Bool("more", next_before != 0);
  if (next_before != 0) reply.Id("next_before", next_before);
  if (partial) reply.Bool("partial", true);
  return reply.RawArray(items_key, items).Take();
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

struct RequestFields::Document {
  simdjson::dom::parser parser;
  std::string padded;  // the payload copied with the padding simdjson reads past its end
  simdjson::dom::object object;
  bool parsed = false;
  std::vector<std::string_view> keys;  // reused by the duplicate check

  // The member `name`, or NO_SUCH_FIELD when the payload has none (or did not parse).
  simdjson::simdjson_result<simdjson::dom::element> Find(const char* name) const {
    if (!parsed) return simdjson::NO_SUCH_FIELD;
    return object.at_key(name);
  }
};

RequestFields::RequestFields() : document_(std::make_unique<Document>()) {}
RequestFields::~RequestFields() = default;
RequestFields::RequestFields(RequestFields&&) noexcept = default;
RequestFields& RequestFields::operator=(RequestFields&&) noexcept = default;

namespace {

// Whether the printable tag `raw` may be echoed in an error reply.
bool IsEchoableTag(std::string_view raw) {
  return raw.size() <= kMaxTagLength && std::all_of(raw.begin(), raw.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

// Counts the values of `element` (itself, and everything in it) into `*count`, stopping past `max`.
void CountValues(simdjson::dom::element element, std::size_t max, std::size_t* count) {
  if (++*count > max) return;
  simdjson::dom::array array;
  simdjson::dom::object object;
  if (element.get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : array) {
      CountValues(item, max, count);
      if (*count > max) return;
    }
  } else if (element.get(object) == simdjson::SUCCESS) {
    for (simdjson::dom::key_value_pair member : object) {
      CountValues(member.value, max, count);
      if (*count > max) return;
    }
  }
}

}  // namespace

Status RequestFields::Parse(std::string_view payload, const RequestBounds& bounds) {
  document_->parsed = false;
  tag_ = {};
  if (payload.size() > bounds.max_bytes) {
    return Status::Error(ErrorCode::kTooLong, "payload is " + std::to_string(payload.size()) +
                                                  " bytes; the limit for this request is " +
                                                  std::to_string(bounds.max_bytes));
  }
  Status status = ParseWithinBounds(payload, bounds);
  if (!status.ok() && !document_->parsed) {
    // The rid and cmid of a payload that would not parse, read by a scan that needs no parser.
    constexpr std::string_view kTagNames[] = {"rid", "cmid"};
    std::string_view tags[2];
    IgnoreError(ScanJson(payload, bounds.json, kTagNames, tags), "only the tags are wanted");
    if (IsEchoableTag(tags[0])) tag_.rid = std::string(tags[0]);
    if (IsEchoableTag(tags[1])) tag_.cmid = std::string(tags[1]);
  }
  if (!status.ok()) document_->parsed = false;
  return status;
}

Status RequestFields::ParseWithinBounds(std::string_view payload, const RequestBounds& bounds) {
  Document& doc = *document_;
  if (doc.parser.max_depth() != bounds.json.max_depth) {
    if (doc.parser.allocate(std::max<std::size_t>(payload.size(), 4096), bounds.json.max_depth) != simdjson::SUCCESS) {
      return Status::Error(ErrorCode::kInternal, "out of memory parsing the payload");
    }
  }
  // One pass validates the UTF-8 and finds the structure; the payload is copied first because simdjson
  // reads a few bytes past the end.
  doc.padded.reserve(payload.size() + simdjson::SIMDJSON_PADDING);
  doc.padded.assign(payload);
  simdjson::dom::element root;
  simdjson::error_code error = doc.parser.parse(doc.padded.data(), doc.padded.size(), false).get(root);
  switch (error) {
    case simdjson::SUCCESS: break;
    case simdjson::UTF8_ERROR: return Status::Error(ErrorCode::kBadUtf8, "payload is not valid UTF-8");
    case simdjson::DEPTH_ERROR:
      return BadRequest("payload nests deeper than " + std::to_string(bounds.json.max_depth) + " levels");
    case simdjson::NUMBER_ERROR: return BadRequest("a number in the payload is out of range");
    case simdjson::CAPACITY:
    case simdjson::MEMALLOC: return Status::Error(ErrorCode::kInternal, "out of memory parsing the payload");
    default: return BadRequest("payload is not valid JSON");
  }
  if (root.get(doc.object) != simdjson::SUCCESS) return BadRequest("payload must be a JSON object");
  doc.parsed = true;
  // Tags first, so that every refusal below can carry them.
  for (auto [name, field] : {std::pair{"rid", &tag_.rid}, std::pair{"cmid", &tag_.cmid}}) {
    std::string_view raw;
    if (doc.Find(name).get(raw) == simdjson::SUCCESS && IsEchoableTag(raw)) field->assign(raw);
  }
  std::size_t values = 0;
  CountValues(root, bounds.json.max_values, &values);
  if (values > bounds.json.max_values) {
    return BadRequest("payload has more than " + std::to_string(bounds.json.max_values) + " values");
  }
  doc.keys.clear();
  for (simdjson::dom::key_value_pair member : doc.object) doc.keys.push_back(member.key);
  std::sort(doc.keys.begin(), doc.keys.end());
  if (auto twin = std::adjacent_find(doc.keys.begin(), doc.keys.end()); twin != doc.keys.end()) {
    return BadRequest("member \"" + std::string(twin->substr(0, kMaxTagLength)) + "\" appears twice");
  }
  for (const char* name : {"rid", "cmid"}) {
    if (!Has(name)) continue;
    std::string_view text;
    if (doc.Find(name).get(text) != simdjson::SUCCESS) return BadRequest(std::string(name) + " must be a string");
    if (text.size() > kMaxTagLength) return BadRequest(std::string(name) + " is longer than 64 characters");
    // A tag the reply could not carry back unchanged would leave the client unable to match its answer.
    if (!IsEchoableTag(text)) return BadRequest(std::string(name) + " must be printable ASCII");
  }
  return Status::Ok();
}

bool RequestFields::Has(const char* name) const { return document_->Find(name).error() == simdjson::SUCCESS; }

Status RequestFields::RequiredString(const char* name, std::string* out) const {
  if (!Has(name)) return BadRequest(std::string(name) + " is required");
  return OptionalString(name, out);
}

Status RequestFields::OptionalString(const char* name, std::string* out) const {
  if (!Has(name)) return Status::Ok();
  std::string_view text;
  if (document_->Find(name).get(text) != simdjson::SUCCESS) return BadRequest(std::string(name) + " must be a string");
  out->assign(text);
  return Status::Ok();
}

Status RequestFields::RequiredText(const char* name, std::string* out, std::size_t* code_points) const {
  if (Status s = RequiredString(name, out); !s.ok()) return s;
  *code_points = CountCodePointsOfValidUtf8(*out);  // the parser validated the UTF-8
  return Status::Ok();
}

Status RequestFields::OptionalId(const char* name, MessageId* out) const {
  simdjson::dom::element value;
  if (document_->Find(name).get(value) != simdjson::SUCCESS || value.is_null()) return Status::Ok();
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS) return BadRequest(std::string(name) + " must be a message id string");
  auto id = ParseMessageId(text);
  if (!id) return BadRequest(std::string(name) + " is not a message id");
  *out = *id;
  return Status::Ok();
}

Status RequestFields::OptionalNumber(const char* name, std::uint64_t min, std::uint64_t max,
                                     std::uint64_t* out) const {
  if (!Has(name)) return Status::Ok();
  // Negative numbers and fractions do not convert.
  std::uint64_t number = 0;
  bool ok = document_->Find(name).get(number) == simdjson::SUCCESS;
  if (!ok || number < min || number > max) {
    return BadRequest(std::string(name) + " must be an integer from " + std::to_string(min) + " to " +
                      std::to_string(max));
  }
  *out = number;
  return Status::Ok();
}

Status RequestFields::OptionalBool(const char* name, bool* out) const {
  if (!Has(name)) return Status::Ok();
  bool value = false;
  if (document_->Find(name).get(value) != simdjson::SUCCESS) return BadRequest(std::string(name) + " must be true or false");
  *out = value;
  return Status::Ok();
}

Status RequestFields::OptionalStringList(const char* name, std::size_t max_items,
                                         std::vector<std::string>* out) const {
  if (!Has(name)) return Status::Ok();
  simdjson::dom::array items;
  if (document_->Find(name).get(items) != simdjson::SUCCESS) {
    return BadRequest(std::string(name) + " must be an array of strings");
  }
  if (items.size() > max_items) {
    return BadRequest(std::string(name) + " has more than " + std::to_string(max_items) + " entries");
  }
  std::vector<std::string> values;
  values.reserve(items.size());
  for (simdjson::dom::element item : items) {
    std::string_view text;
    if (item.get(text) != simdjson::SUCCESS) return BadRequest(std::string(name) + " must be an array of strings");
    values.emplace_back(text);
  }
  *out = std::move(values);
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

std::string MessageJson(const StoredMessage& message) {
  JsonWriter object(MessageJsonBytes(message));
  AddMessage(message, &object);
  return object.Take();
}

std::string MessageEventJson(const StoredMessage& message, bool mentioned) {
  JsonWriter event(MessageJsonBytes(message));
  event.String("type", "message");
  AddMessage(message, &event);
  if (mentioned) event.Bool("mentioned", true);
  return event.Take();
}

std::string MessageChangeEventJson(const StoredMessage& message) {
  JsonWriter event(MessageJsonBytes(message));
  event.String("type", message.deleted() ? "delete" : "edit");
  AddMessage(message, &event);
  return event.Take();
}

std::string GroupEventJson(const GroupRecord& group, std::string_view event, std::string_view by,
                           const std::vector<std::string>& users, std::int64_t ts) {
  JsonWriter object;
  object.String("type", "group").String("group", group.group_id).String("event", event).String("by", by);
  object.String("name", group.name).Int("ts", ts);
  if (!users.empty()) object.StringArray("users", users);
  return object.Take();
}

std::string ReadEventJson(const Conversation& conversation, std::string_view peer, MessageId up_to, std::int64_t ts) {
  JsonWriter object;
  object.String("type", "read");
  AddConversation(conversation, peer, &object);
  object.Id("up_to", up_to).Int("ts", ts);
  return object.Take();
}

std::string WithSeq(std::string_view event_json, std::uint64_t seq) {
  // Every event is a JSON object: put "seq" first rather than parse and build it again.
  std::string out;
  out.reserve(event_json.size() + 28);
  out.append("{\"seq\":").append(std::to_string(seq));
  if (event_json.size() > 2) out.push_back(',');
  out.append(event_json.substr(1));
  return out;
}

std::string ContactEventJson(std::string_view event, std::string_view other, std::int64_t ts) {
  return JsonWriter().String("type", "contact").String("event", event).String("user", other).Int("ts", ts).Take();
}

std::string TypingEventJson(std::string_view from, const Conversation& conversation, std::string_view peer) {
  JsonWriter event;
  event.String("type", "typing").String("from", from);
  if (conversation.is_group()) {
    event.String("group", conversation.key);
  } else {
    event.String("to", peer);
  }
  return event.Take();
}

namespace {

void AddPresence(const PresenceState& state, JsonWriter* object) {
  object->String("user", state.user_id).String("state", state.online ? "online" : "offline");
  object->Int("last_active_at", state.last_active_ms);
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
  JsonWriter object;
  object.String("type", "presence");
  AddPresence(state, &object);
  return object.Take();
}

std::string PresenceListJson(const RequestTag& tag, const std::vector<PresenceState>& states) {
  std::vector<std::string> users;
  users.reserve(states.size());
  for (const PresenceState& s : states) {
    JsonWriter user;
    AddPresence(s, &user);
    users.push_back(user.Take());
  }
  JsonWriter reply;
  reply.String("type", "presence");
  AddTag(tag, &reply);
  return reply.RawArray("users", users).Take();
}

std::string ContactsJson(const RequestTag& tag, const std::vector<std::pair<std::string, ContactState>>& contacts) {
  std::vector<std::string> list;
  list.reserve(contacts.size());
  for (const auto& [user, state] : contacts) {
    list.push_back(JsonWriter().String("user", user).String("state", ContactStateName(state)).Take());
  }
  JsonWriter reply;
  reply.String("type", "contacts");
  AddTag(tag, &reply);
  return reply.RawArray("contacts", list).Take();
}

std::string SendAckJson(const RequestTag& tag, const StoredMessage& message, bool duplicate, std::uint64_t seq) {
  JsonWriter ack(128);
  ack.String("type", "ack").String("op", "send");
  AddTag(tag, &ack);
  ack.Id("id", message.id).Int("ts", message.created_at_ms);
  if (seq != 0) ack.Uint("seq", seq);
  if (duplicate) ack.Bool("duplicate", true);
  return ack.Take();
}

std::string ErrorJson(std::string_view op, const RequestTag& tag, const Status& error) {
  JsonWriter reply;
  reply.String("type", "error").String("op", op);
  AddTag(tag, &reply);
  return reply.String("code", ErrorCodeName(error.code())).String("message", error.message()).Take();
}

std::string OkJson(std::string_view op, const RequestTag& tag) {
  JsonWriter reply;
  reply.String("type", "ok").String("op", op);
  AddTag(tag, &reply);
  return reply.Take();
}

std::string ResumeTokenJson(const RequestTag& tag, std::string_view token, std::int64_t expires_at_ms) {
  JsonWriter reply;
  reply.String("type", "resume_token");
  AddTag(tag, &reply);
  reply.String("token", token).Int("expires", expires_at_ms);
  return reply.Take();
}

std::string HistoryJson(const RequestTag& tag, const Conversation& conversation, std::string_view peer,
                        const std::vector<std::string>& messages, bool more) {
  JsonWriter reply;
  reply.String("type", "history");
  AddTag(tag, &reply);
  AddConversation(conversation, peer, &reply);
  return reply.Bool("more", more).RawArray("messages", messages).Take();
}

std::string HistoryAroundJson(const RequestTag& tag, const Conversation& conversation, std::string_view peer,
                              MessageId around, const std::vector<std::string>& messages, bool more_before,
                              bool more_after) {
  JsonWriter reply;
  reply.String("type", "history");
  AddTag(tag, &reply);
  AddConversation(conversation, peer, &reply);
  reply.Id("around", around).Bool("more_before", more_before).Bool("more_after", more_after);
  return reply.RawArray("messages", messages).Take();
}

std::string SearchJson(const RequestTag& tag, const std::vector<std::string>& hits, MessageId next_before, bool partial) {
  return PageJson("search", tag, "hits", hits, next_before, partial);
}

std::string MentionsJson(const RequestTag& tag, const std::vector<std::string>& messages, MessageId next_before) {
  return PageJson("mentions", tag, "messages", messages, next_before);
}

std::string SyncJson(const RequestTag& tag, const std::vector<std::string>& events, const QueuePage& page, bool more) {
  JsonWriter reply;
  reply.String("type", "sync");
  AddTag(tag, &reply);
  reply.Bool("more", more).Uint("last_seq", page.last_seq);
  if (page.truncated) reply.Bool("truncated", true);
  return reply.RawArray("events", events).Take();
}

std::string GroupJson(const RequestTag& tag, const GroupRecord& group, const std::vector<GroupMember>& members,
                      const std::vector<std::string>& invited) {
  std::vector<std::string> names;
  names.reserve(members.size());
  for (const GroupMember& m : members) names.push_back(m.user_id);
  JsonWriter reply;
  reply.String("type", "group");
  AddTag(tag, &reply);
  reply.String("group", group.group_id).String("name", group.name).String("owner", group.owner);
  reply.StringArray("members", names);
  if (!invited.empty()) reply.StringArray("invited", invited);
  return reply.Take();
}

std::string GroupsJson(const RequestTag& tag, const std::vector<GroupSummary>& groups,
                       const std::vector<InviteSummary>& invites) {
  std::vector<std::string> list;
  list.reserve(groups.size());
  for (const GroupSummary& g : groups) {
    list.push_back(JsonWriter()
                       .String("group", g.group.group_id)
                       .String("name", g.group.name)
                       .String("owner", g.group.owner)
                       .Uint("members", g.member_count)
                       .Take());
  }
  std::vector<std::string> waiting;
  waiting.reserve(invites.size());
  for (const InviteSummary& i : invites) {
    waiting.push_back(JsonWriter()
                          .String("group", i.invite.group_id)
                          .String("name", i.name)
                          .String("by", i.invite.by)
                          .Int("ts", i.invite.at_ms)
                          .Take());
  }
  JsonWriter reply;
  reply.String("type", "groups");
  AddTag(tag, &reply);
  return reply.RawArray("groups", list).RawArray("invites", waiting).Take();
}

std::string ConversationJson(const ConversationSummary& c) {
  JsonWriter item;
  AddConversation(c.conversation, c.peer, &item);
  if (c.conversation.is_group()) item.String("name", c.name);
  item.Id("last_id", c.last_id).Id("read_up_to", c.read_up_to);
  if (c.last) {
    JsonWriter last;
    last.Id("id", c.last->id).String("from", c.last->from);
    if (c.last->deleted()) {
      last.Bool("deleted", true);
    } else {
      last.String("text", c.last->text);
    }
    last.Int("ts", c.last->created_at_ms);
    if (c.last->edited_at_ms != 0) last.Int("edited_at", c.last->edited_at_ms);
    item.Raw("last", last.Take());
  }
  item.Uint("unread", c.unread.count);
  if (!c.unread.complete) item.Bool("unread_capped", true);
  return item.Take();
}

std::string ConversationsJson(const RequestTag& tag, const std::vector<std::string>& conversations,
                              MessageId next_before) {
  return PageJson("conversations", tag, "conversations", conversations, next_before);
}

}  // namespace chat::core
