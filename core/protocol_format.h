// The JSON payloads of the chat protocol, read and built in one place. docs/PROTOCOL.md is their
// description for client authors; keep the two in step.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_scan.h"
#include "core/records.h"
#include "core/settings.h"
#include "core/status.h"

namespace chat::core {

// Fields every request may carry so the client can match the reply to it.
struct RequestTag {
  std::string rid;   // request id, echoed in the reply (optional)
  std::string cmid;  // client message id of a send (optional)
};

// How large and how complex a request payload may be; checked before it is parsed.
struct RequestBounds {
  std::size_t max_bytes = 0;
  JsonBounds json;
};

// A send carries up to max_message_chars characters, each up to 12 bytes as JSON escapes
// ("\ud83d\ude00"); any other request is at most a list of user ids (a new group's members, a presence
// query). Derived from `limits`, so raising a limit raises the bound with it.
RequestBounds RequestBoundsFor(bool is_send, const Limits& limits);

// A request payload: a JSON object, with typed accessors that fail with kBadRequest naming the field.
// Absent optional fields leave the output unchanged. Never throws. Keeps its parser's buffers from one
// payload to the next, so the broker thread reuses one instance rather than allocating per request.
class RequestFields {
 public:
  RequestFields();
  ~RequestFields();
  RequestFields(RequestFields&&) noexcept;
  RequestFields& operator=(RequestFields&&) noexcept;

  // Checks `payload` against `bounds` (kTooLong, kBadRequest), then parses it in one pass that also
  // validates its UTF-8 (kBadUtf8, or kBadRequest for JSON that is not an object, or that names a
  // member twice: parsers disagree on which one counts). On failure `tag` still holds the rid and cmid
  // when they could be read, so the error reply can carry them. What the accessors return is valid
  // until the next Parse.
  Status Parse(std::string_view payload, const RequestBounds& bounds);
  const RequestTag& tag() const { return tag_; }
  bool Has(const char* name) const;

  Status RequiredString(const char* name, std::string* out) const;
  Status OptionalString(const char* name, std::string* out) const;
  // A required string and its number of code points, counted without validating the UTF-8 again.
  Status RequiredText(const char* name, std::string* out, std::size_t* code_points) const;
  // A message id string ("384…").
  Status OptionalId(const char* name, MessageId* out) const;
  // A non-negative integer in [min, max].
  Status OptionalNumber(const char* name, std::uint64_t min, std::uint64_t max, std::uint64_t* out) const;
  Status OptionalBool(const char* name, bool* out) const;
  // An array of at most `max_items` strings.
  Status OptionalStringList(const char* name, std::size_t max_items, std::vector<std::string>* out) const;

 private:
  // Parse after the size check; sets the tags it can read.
  Status ParseWithinBounds(std::string_view payload, const RequestBounds& bounds);

  struct Document;  // the JSON parser and what it parsed (simdjson, kept out of this header)
  std::unique_ptr<Document> document_;
  RequestTag tag_;
};

// Collects the rendered items of one page reply up to a byte budget. The first item always fits, so a
// page is never empty while items remain and paging always moves on.
class ReplyBudget {
 public:
  explicit ReplyBudget(std::size_t max_bytes) : left_(max_bytes) {}
  // True (and the bytes are counted) when an item of `bytes` still fits; false once the page is full.
  bool Take(std::size_t bytes);

 private:
  std::size_t left_;
  bool first_ = true;
};

// A message as it appears in history pages: {"id":...,"from":...,"to"|"group":...,"text":...,"ts":...},
// with "edited_at" once edited; a deleted one has "deleted":true and "deleted_by" instead of "text".
std::string MessageJson(const StoredMessage& message);

// Events (what devices receive on chat/v1/user/<me>/msg and in sync pages). Built without "seq";
// WithSeq adds the receiving user's sequence number.
// `mentioned`: the receiving member is mentioned in it ("mentioned": true, see core/mentions.h).
std::string MessageEventJson(const StoredMessage& message, bool mentioned = false);
// A message as it is after an edit ("type":"edit", its new text and "edited_at") or a deletion
// ("type":"delete", a tombstone: "deleted":true and "deleted_by", no text).
std::string MessageChangeEventJson(const StoredMessage& message);
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
// `seq`: the message's place in the sender's own queue (0: not given, for a duplicate).
std::string SendAckJson(const RequestTag& tag, const StoredMessage& message, bool duplicate, std::uint64_t seq);
std::string ErrorJson(std::string_view op, const RequestTag& tag, const Status& error);
std::string OkJson(std::string_view op, const RequestTag& tag);
// The reply to `resume_token`: the token and when it expires (ms since the epoch).
std::string ResumeTokenJson(const RequestTag& tag, std::string_view token, std::int64_t expires_at_ms);
// One page of a conversation: `peer` or `group` names it as the caller sees it; `messages` are
// MessageJson objects in page order; `more`: messages remain in that direction.
std::string HistoryJson(const RequestTag& tag, const Conversation& conversation, std::string_view peer,
                        const std::vector<std::string>& messages, bool more);
// Search results: MessageJson objects, newest first; `next_before` non-zero: ask again with
// {"before": next_before} for more; `partial`: a prefix matched too many words to read them all.
std::string SearchJson(const RequestTag& tag, const std::vector<std::string>& hits, MessageId next_before, bool partial);
// The messages that mention the caller, newest first; `next_before` non-zero: more with {"before": it}.
std::string MentionsJson(const RequestTag& tag, const std::vector<std::string>& messages, MessageId next_before);
// A window around message `around`: MessageJson objects oldest first, the message among them;
// `more_before` / `more_after`: older / newer messages remain beyond the window.
std::string HistoryAroundJson(const RequestTag& tag, const Conversation& conversation, std::string_view peer,
                              MessageId around, const std::vector<std::string>& messages, bool more_before,
                              bool more_after);
// `events` are complete event objects (with seq), in order; `more` overrides the page's (a page cut
// short by the byte budget has more).
std::string SyncJson(const RequestTag& tag, const std::vector<std::string>& events, const QueuePage& page, bool more);
// `invited`: users this request invited rather than added (they join when they accept).
std::string GroupJson(const RequestTag& tag, const GroupRecord& group, const std::vector<GroupMember>& members,
                      const std::vector<std::string>& invited = {});

struct GroupSummary {
  GroupRecord group;
  std::size_t member_count = 0;
};
struct InviteSummary {
  GroupInvite invite;
  std::string name;  // the group's
};
std::string GroupsJson(const RequestTag& tag, const std::vector<GroupSummary>& groups,
                       const std::vector<InviteSummary>& invites);

struct ConversationSummary {
  Conversation conversation;
  std::string peer;  // 1:1: the other user
  std::string name;  // group: its name
  MessageId last_id = 0;
  std::optional<StoredMessage> last;  // the newest message with its text cut to a preview, when it is kept
  MessageId read_up_to = 0;
  UnreadCount unread;
};
std::string ContactsJson(const RequestTag& tag, const std::vector<std::pair<std::string, ContactState>>& contacts);
// {"type":"presence","users":[{"user":...,"state":...,"last_active_at":...}]}
std::string PresenceListJson(const RequestTag& tag, const std::vector<PresenceState>& states);
// One entry of a conversations page.
std::string ConversationJson(const ConversationSummary& conversation);
// `conversations` are ConversationJson entries, newest first. `next_before` non-zero: older ones follow,
// asked for with {"before": next_before}.
std::string ConversationsJson(const RequestTag& tag, const std::vector<std::string>& conversations,
                              MessageId next_before);

}  // namespace chat::core
