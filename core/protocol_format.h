// The JSON payloads of the chat protocol, read and built in one place. docs/PROTOCOL.md is their
// description for client authors; keep the two in step.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/records.h"
#include "core/status.h"

namespace chat::core {

// Fields every request may carry so the client can match the reply to it.
struct RequestTag {
  std::string rid;   // request id, echoed in the reply (optional)
  std::string cmid;  // client message id of a send (optional)
};

// A request payload: a JSON object, with typed accessors that fail with kBadRequest naming the field.
// Absent optional fields leave the output unchanged. Never throws.
class RequestFields {
 public:
  // Parses `payload`; on failure `tag` still holds what could be read, so the error can carry it.
  Status Parse(std::string_view payload);
  const RequestTag& tag() const { return tag_; }
  bool Has(const char* name) const { return object_.contains(name); }

  Status RequiredString(const char* name, std::string* out) const;
  Status OptionalString(const char* name, std::string* out) const;
  // A message id string ("384…").
  Status OptionalId(const char* name, MessageId* out) const;
  // A non-negative integer in [min, max].
  Status OptionalNumber(const char* name, std::uint64_t min, std::uint64_t max, std::uint64_t* out) const;
  Status OptionalBool(const char* name, bool* out) const;
  // An array of at most `max_items` strings.
  Status OptionalStringList(const char* name, std::size_t max_items, std::vector<std::string>* out) const;

 private:
  nlohmann::json object_;
  RequestTag tag_;
};

// Best effort: the rid/cmid of a payload that failed validation before it was parsed.
RequestTag ExtractTag(std::string_view payload);

// Events (what devices receive on chat/v1/user/<me>/msg and in sync pages). Built without "seq";
// WithSeq adds the receiving user's sequence number.
std::string MessageEventJson(const StoredMessage& message);
std::string GroupEventJson(const GroupRecord& group, std::string_view event, std::string_view by,
                           const std::vector<std::string>& users, std::int64_t ts);
// A read mark as seen by its user: `conversation` with `peer` (the other user) or `group`.
std::string ReadEventJson(const Conversation& conversation, std::string_view peer, MessageId up_to, std::int64_t ts);
std::string WithSeq(std::string_view event_json, std::uint64_t seq);
// {"type":"contact","event":"incoming|outgoing|added|removed","user":other,"ts":...}
std::string ContactEventJson(std::string_view event, std::string_view other, std::int64_t ts);
// {"type":"typing","from":...,"to":...} or with "group": ephemeral, never stored.
std::string TypingEventJson(std::string_view from, const Conversation& conversation, std::string_view peer);

struct PresenceState {
  std::string user_id;
  bool online = false;
  std::int64_t last_active_ms = 0;
};
// {"type":"presence","user":...,"state":"online|offline","last_active_at":ms}: the retained payload of a
// user's presence topic.
std::string PresenceJson(const PresenceState& state);

// Replies (to the asking device only, on chat/v1/user/<me>/reply).
std::string SendAckJson(const RequestTag& tag, const StoredMessage& message, bool duplicate);
std::string ErrorJson(std::string_view op, const RequestTag& tag, const Status& error);
std::string OkJson(std::string_view op, const RequestTag& tag);
// One page of a conversation: `peer` or `group` names it as the caller sees it.
std::string HistoryJson(const RequestTag& tag, const Conversation& conversation, std::string_view peer,
                        const MessagePage& page);
// `events` are complete event objects (with seq), in order.
std::string SyncJson(const RequestTag& tag, const std::vector<std::string>& events, const QueuePage& page);
std::string GroupJson(const RequestTag& tag, const GroupRecord& group, const std::vector<GroupMember>& members);

struct GroupSummary {
  GroupRecord group;
  std::size_t member_count = 0;
};
std::string GroupsJson(const RequestTag& tag, const std::vector<GroupSummary>& groups);

struct ConversationSummary {
  Conversation conversation;
  std::string peer;  // 1:1: the other user
  std::string name;  // group: its name
  MessageId last_id = 0;
  MessageId read_up_to = 0;
  std::size_t unread = 0;
};
std::string ContactsJson(const RequestTag& tag, const std::vector<std::pair<std::string, ContactState>>& contacts);
// {"type":"presence","users":[{"user":...,"state":...,"last_active_at":...}]}
std::string PresenceListJson(const RequestTag& tag, const std::vector<PresenceState>& states);
// A job for the push bridge (see PROTOCOL.md, "The push bridge's side").
std::string PushJobJson(const PushJob& job, std::string_view title, const std::vector<PushToken>& targets);
std::string ConversationsJson(const RequestTag& tag, const std::vector<ConversationSummary>& conversations);

}  // namespace chat::core
