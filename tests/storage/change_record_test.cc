// change_record: a whole change encodes and decodes back to itself, every field of every record in it,
// so a node applying it from the replicated log writes what the node that made it would have; the log
// outbox stays the writing node's own; anything EncodeChange could not have written is kCorruption,
// never a crash or a huge allocation.
#include "storage/change_record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "storage/binary_fields.h"

namespace chat::storage {
namespace {

using core::Conversation;
using core::ErrorCode;
using core::StoredMessage;
using core::WriteSet;

// UTF-8 of one, two, three and four bytes, and a NUL.
std::string Unicode(const std::string& word) { return word + " h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 " + '\0'; }

StoredMessage FullMessage(core::MessageId id) {
  StoredMessage m;
  m.id = id;
  m.from = "alice";
  m.to = "bob";
  m.group_id = "384000000000000777";
  m.text = Unicode("text") + std::string(200, 'x');  // a length over 127: a two-byte prefix
  m.created_at_ms = -1795000000123;
  m.client_message_id = "c-1";
  m.edited_at_ms = 1795000009999;
  m.deleted_by = "carol";
  m.mentions = {"bob", Unicode("dave")};
  m.mentions_all = true;
  return m;
}

// Every list holds a record, and every field of every record is set to something other than its default
// (the enums too), so a field the codec dropped would come back different.
WriteSet FullChange() {
  WriteSet w;
  w.users = {{Unicode("ivan"), {120000, std::string(16, '\x01'), std::string(32, '\xFE')}, true, -1795000000010,
              384000000000000001ULL}};
  w.users_deleted = {"jane"};
  w.messages = {FullMessage(384000000000000042ULL)};
  w.changed_messages = {FullMessage(384000000000000041ULL)};
  w.mentions = {{"bob", "384000000000000777", 384000000000000042ULL}};
  w.mentions_removed = {{"dave", "384000000000000778", 384000000000000040ULL}};
  w.queue = {{"bob", 17, {core::QueueEntry::Kind::kChange, Conversation::Group("384000000000000777"),
                          384000000000000042ULL, "{\"type\":\"x\"}", -5}}};
  w.groups = {{"384000000000000777", Unicode("name"), "alice", 1795000000001}};
  w.members_added = {{"384000000000000777", "bob", 1795000000002}};
  w.members_removed = {{"384000000000000778", "carol", -1795000000003}};
  w.read_positions = {{"bob", Conversation::Group("384000000000000777"), 384000000000000042ULL}};
  w.peers = {{"bob", {"alice", 384000000000000039ULL}}};
  w.contacts = {{"alice", "bob", core::ContactState::kIncoming}};
  w.last_active = {{"bob", 1795000000004}};
  w.push_tokens = {{"bob", {"phone", "fcm", Unicode("token"), "android"}}};
  w.resume_tokens = {{"bob", {"laptop", std::string(32, '\xAB'), -1}}};
  w.resume_tokens_revoked = {"erin"};
  w.push_jobs = {{384000000000000050ULL, "bob", "alice", Conversation::Direct("alice", "bob"), 3, Unicode("preview"),
                  1795000000005, 384000000000000042ULL}};
  w.push_jobs_done = {384000000000000030ULL};
  w.mutes = {{"bob", Conversation::Group("384000000000000777"), true}};
  w.group_accepts = {{"384000000000000777", "alice", 1795000000006}};
  w.took_part_removed = {{"384000000000000778", "carol", 1795000000007}};
  w.invites_added = {{"384000000000000777", "frank", "alice", 1795000000008}};
  w.invites_removed = {{"384000000000000779", "gina", 1795000000009}};
  w.erased_users = {"harry"};
  w.id_floor = 384000000000000050ULL;
  w.change_id = 384000000000000042ULL;
  return w;
}

WriteSet RoundTrip(const WriteSet& in) {
  WriteSet out;
  core::Status s = DecodeChange(EncodeChange(in), &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

Conversation::Kind OtherKind(Conversation::Kind kind) {
  return kind == Conversation::Kind::kGroup ? Conversation::Kind::kDirect : Conversation::Kind::kGroup;
}

// Edits of one field each, named by the statement that makes it.
struct FieldEdit {
  std::string name;
  std::function<void(WriteSet&)> apply;
};
#define EDIT(statement) FieldEdit{#statement, [](WriteSet& w) { statement; }}

// One edit per field of every record in FullChange(): a field the codec dropped or mixed up with another
// makes its edit vanish in the round trip.
std::vector<FieldEdit> EveryFieldEdit() {
  std::vector<FieldEdit> edits = {
      EDIT(w.queue[0].user_id += "x"),
      EDIT(++w.queue[0].seq),
      EDIT(w.queue[0].entry.kind = core::QueueEntry::Kind::kEvent),
      EDIT(w.queue[0].entry.conversation.kind = OtherKind(w.queue[0].entry.conversation.kind)),
      EDIT(w.queue[0].entry.conversation.key += "x"),
      EDIT(++w.queue[0].entry.message_id),
      EDIT(w.queue[0].entry.event_json += "x"),
      EDIT(--w.queue[0].entry.created_at_ms),
      EDIT(w.groups[0].group_id += "x"),
      EDIT(w.groups[0].name += "x"),
      EDIT(w.groups[0].owner += "x"),
      EDIT(++w.groups[0].created_at_ms),
      EDIT(w.read_positions[0].user_id += "x"),
      EDIT(w.read_positions[0].conversation.kind = OtherKind(w.read_positions[0].conversation.kind)),
      EDIT(w.read_positions[0].conversation.key += "x"),
      EDIT(++w.read_positions[0].up_to),
      EDIT(w.peers[0].user_id += "x"),
      EDIT(w.peers[0].peer.peer += "x"),
      EDIT(++w.peers[0].peer.last_id),
      EDIT(w.contacts[0].user_id += "x"),
      EDIT(w.contacts[0].other += "x"),
      EDIT(w.contacts[0].state = core::ContactState::kOutgoing),
      EDIT(w.last_active[0].user_id += "x"),
      EDIT(++w.last_active[0].at_ms),
      EDIT(w.push_tokens[0].user_id += "x"),
      EDIT(w.push_tokens[0].token.device_id += "x"),
      EDIT(w.push_tokens[0].token.provider += "x"),
      EDIT(w.push_tokens[0].token.token += "x"),
      EDIT(w.push_tokens[0].token.platform += "x"),
      EDIT(w.resume_tokens[0].user_id += "x"),
      EDIT(w.resume_tokens[0].token.device_id += "x"),
      EDIT(w.resume_tokens[0].token.digest += "x"),
      EDIT(--w.resume_tokens[0].token.issued_at_ms),
      EDIT(w.resume_tokens_revoked[0] += "x"),
      EDIT(++w.push_jobs[0].job_id),
      EDIT(w.push_jobs[0].user_id += "x"),
      EDIT(w.push_jobs[0].from += "x"),
      EDIT(w.push_jobs[0].conversation.kind = OtherKind(w.push_jobs[0].conversation.kind)),
      EDIT(w.push_jobs[0].conversation.key += "x"),
      EDIT(++w.push_jobs[0].count),
      EDIT(w.push_jobs[0].preview += "x"),
      EDIT(++w.push_jobs[0].created_at_ms),
      EDIT(++w.push_jobs[0].message_id),
      EDIT(++w.push_jobs_done[0]),
      EDIT(w.mutes[0].user_id += "x"),
      EDIT(w.mutes[0].conversation.kind = OtherKind(w.mutes[0].conversation.kind)),
      EDIT(w.mutes[0].conversation.key += "x"),
      EDIT(w.mutes[0].muted = false),
      EDIT(w.invites_added[0].group_id += "x"),
      EDIT(w.invites_added[0].user_id += "x"),
      EDIT(w.invites_added[0].by += "x"),
      EDIT(++w.invites_added[0].at_ms),
      EDIT(w.erased_users[0] += "x"),
      EDIT(w.users[0].user_id += "x"),
      EDIT(++w.users[0].password.iterations),
      EDIT(w.users[0].password.salt += "x"),
      EDIT(w.users[0].password.digest += "x"),
      EDIT(w.users[0].is_admin = false),
      EDIT(++w.users[0].created_at_ms),
      EDIT(++w.users[0].history_floor),
      EDIT(w.users_deleted[0] += "x"),
      EDIT(++w.id_floor),
      EDIT(++w.change_id),
  };
  // The records that more than one list holds: each list's own copy is edited.
  using MessageList = std::vector<StoredMessage> WriteSet::*;
  for (MessageList list : {&WriteSet::messages, &WriteSet::changed_messages}) {
    std::string name = list == &WriteSet::messages ? "messages" : "changed_messages";
    auto edit_message = [&](const char* field, std::function<void(StoredMessage&)> edit) {
      edits.push_back({name + field, [list, edit](WriteSet& w) { edit((w.*list)[0]); }});
    };
    edit_message(".id", [](StoredMessage& m) { ++m.id; });
    edit_message(".from", [](StoredMessage& m) { m.from += "x"; });
    edit_message(".to", [](StoredMessage& m) { m.to += "x"; });
    edit_message(".group_id", [](StoredMessage& m) { m.group_id += "x"; });
    edit_message(".text", [](StoredMessage& m) { m.text += "x"; });
    edit_message(".created_at_ms", [](StoredMessage& m) { ++m.created_at_ms; });
    edit_message(".client_message_id", [](StoredMessage& m) { m.client_message_id += "x"; });
    edit_message(".edited_at_ms", [](StoredMessage& m) { ++m.edited_at_ms; });
    edit_message(".deleted_by", [](StoredMessage& m) { m.deleted_by += "x"; });
    edit_message(".mentions", [](StoredMessage& m) { m.mentions[1] += "x"; });
    edit_message(".mentions (one more)", [](StoredMessage& m) { m.mentions.push_back("x"); });
    edit_message(".mentions_all", [](StoredMessage& m) { m.mentions_all = false; });
  }
  using MentionList = std::vector<WriteSet::Mention> WriteSet::*;
  for (MentionList list : {&WriteSet::mentions, &WriteSet::mentions_removed}) {
    std::string name = list == &WriteSet::mentions ? "mentions" : "mentions_removed";
    edits.push_back({name + ".user_id", [list](WriteSet& w) { (w.*list)[0].user_id += "x"; }});
    edits.push_back({name + ".group_id", [list](WriteSet& w) { (w.*list)[0].group_id += "x"; }});
    edits.push_back({name + ".message_id", [list](WriteSet& w) { ++(w.*list)[0].message_id; }});
  }
  using MembershipList = std::vector<WriteSet::Membership> WriteSet::*;
  const std::vector<std::pair<MembershipList, std::string>> membership_lists = {
      {&WriteSet::members_added, "members_added"},
      {&WriteSet::members_removed, "members_removed"},
      {&WriteSet::group_accepts, "group_accepts"},
      {&WriteSet::took_part_removed, "took_part_removed"},
      {&WriteSet::invites_removed, "invites_removed"}};
  for (const auto& named : membership_lists) {
    MembershipList list = named.first;
    edits.push_back({named.second + ".group_id", [list](WriteSet& w) { (w.*list)[0].group_id += "x"; }});
    edits.push_back({named.second + ".user_id", [list](WriteSet& w) { (w.*list)[0].user_id += "x"; }});
    edits.push_back({named.second + ".joined_at_ms", [list](WriteSet& w) { ++(w.*list)[0].joined_at_ms; }});
  }
  // Every list of the change, by one record more: its count is encoded, and it is read as its own list.
  edits.push_back(EDIT(w.messages.push_back({})));
  edits.push_back(EDIT(w.changed_messages.push_back({})));
  edits.push_back(EDIT(w.mentions.push_back({})));
  edits.push_back(EDIT(w.mentions_removed.push_back({})));
  edits.push_back(EDIT(w.queue.push_back({})));
  edits.push_back(EDIT(w.groups.push_back({})));
  edits.push_back(EDIT(w.members_added.push_back({})));
  edits.push_back(EDIT(w.members_removed.push_back({})));
  edits.push_back(EDIT(w.read_positions.push_back({})));
  edits.push_back(EDIT(w.peers.push_back({})));
  edits.push_back(EDIT(w.contacts.push_back({})));
  edits.push_back(EDIT(w.last_active.push_back({})));
  edits.push_back(EDIT(w.push_tokens.push_back({})));
  edits.push_back(EDIT(w.resume_tokens.push_back({})));
  edits.push_back(EDIT(w.resume_tokens_revoked.push_back({})));
  edits.push_back(EDIT(w.push_jobs.push_back({})));
  edits.push_back(EDIT(w.push_jobs_done.push_back({})));
  edits.push_back(EDIT(w.mutes.push_back({})));
  edits.push_back(EDIT(w.group_accepts.push_back({})));
  edits.push_back(EDIT(w.took_part_removed.push_back({})));
  edits.push_back(EDIT(w.invites_added.push_back({})));
  edits.push_back(EDIT(w.invites_removed.push_back({})));
  edits.push_back(EDIT(w.erased_users.push_back({})));
  edits.push_back(EDIT(w.users.push_back({})));
  edits.push_back(EDIT(w.users_deleted.push_back({})));
  return edits;
}

// Every strict prefix of `bytes` (a torn or truncated record) is refused with kCorruption.
void ExpectEveryPrefixRefused(const std::string& bytes) {
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    WriteSet out;
    core::Status s = DecodeChange(std::string_view(bytes).substr(0, n), &out);
    EXPECT_EQ(s.code(), ErrorCode::kCorruption) << "prefix of " << n << " of " << bytes.size() << " bytes";
  }
}

// `encoded` with the byte that follows `marker` set to `value` (a field found by the bytes before it).
std::string WithByteAfter(std::string encoded, const std::string& marker, char value) {
  std::size_t at = encoded.find(marker);
  EXPECT_NE(at, std::string::npos) << "marker not in the encoding";
  if (at != std::string::npos) encoded[at + marker.size()] = value;
  return encoded;
}

// --- Round trips -----------------------------------------------------------------------------------------

TEST(ChangeRecordTest, AChangeWithEveryFieldSetRoundTrips) {
  WriteSet full = FullChange();
  EXPECT_EQ(RoundTrip(full), full);
}

TEST(ChangeRecordTest, AnEmptyChangeRoundTripsInAFewBytes) {
  std::string encoded = EncodeChange({});
  EXPECT_EQ(encoded.size(), 28u);  // the version, 25 empty lists, id_floor and change_id: a byte each
  EXPECT_EQ(encoded[0], 1);
  EXPECT_EQ(RoundTrip({}), WriteSet{});
}

TEST(ChangeRecordTest, ExtremeNumbersRoundTrip) {
  WriteSet w = FullChange();
  w.messages[0].created_at_ms = std::numeric_limits<std::int64_t>::min();
  w.messages[0].edited_at_ms = std::numeric_limits<std::int64_t>::max();
  w.messages[0].id = std::numeric_limits<std::uint64_t>::max();
  w.push_jobs[0].count = std::numeric_limits<std::uint32_t>::max();
  w.last_active[0].at_ms = -1;
  w.queue[0].seq = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(RoundTrip(w), w);
}

TEST(ChangeRecordTest, EveryFieldIsEncoded) {
  const WriteSet full = FullChange();
  const std::string full_encoded = EncodeChange(full);
  std::vector<FieldEdit> edits = EveryFieldEdit();
  EXPECT_GE(edits.size(), 120u);
  for (const FieldEdit& edit : edits) {
    WriteSet edited = full;
    edit.apply(edited);
    ASSERT_NE(edited, full) << edit.name << " changes nothing: the test is wrong";
    EXPECT_NE(EncodeChange(edited), full_encoded) << edit.name << " is not encoded";
    EXPECT_EQ(RoundTrip(edited), edited) << edit.name << " does not round-trip";
  }
}

TEST(ChangeRecordTest, TheLogOutboxIsNotEncoded) {
  WriteSet with_outbox = FullChange();
  with_outbox.log_outbox_added = {{384000000000000042ULL, "an outbox record"}};
  with_outbox.log_outbox_done = {384000000000000041ULL};
  std::string encoded = EncodeChange(with_outbox);
  EXPECT_EQ(encoded, EncodeChange(FullChange()));
  EXPECT_EQ(encoded.find("an outbox record"), std::string::npos);

  WriteSet out;
  out.log_outbox_done = {7};  // decoding replaces the whole set, the outbox too
  ASSERT_TRUE(DecodeChange(encoded, &out).ok());
  EXPECT_TRUE(out.log_outbox_added.empty());
  EXPECT_TRUE(out.log_outbox_done.empty());
  EXPECT_EQ(out, FullChange());
}

// --- What is refused -------------------------------------------------------------------------------------

TEST(ChangeRecordTest, EveryTruncationIsCorruptionAndLeavesTheOutputAlone) {
  ExpectEveryPrefixRefused(EncodeChange(FullChange()));
  ExpectEveryPrefixRefused(EncodeChange({}));

  std::string encoded = EncodeChange(FullChange());
  WriteSet out;
  out.erased_users = {"kept"};
  core::Status s = DecodeChange(std::string_view(encoded).substr(0, encoded.size() / 2), &out);
  EXPECT_EQ(s.code(), ErrorCode::kCorruption);
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  EXPECT_EQ(out.erased_users, std::vector<std::string>{"kept"});
}

TEST(ChangeRecordTest, TrailingBytesAreCorruption) {
  for (const std::string& tail : {std::string(1, '\0'), std::string("garbage")}) {
    WriteSet out;
    core::Status s = DecodeChange(EncodeChange(FullChange()) + tail, &out);
    EXPECT_EQ(s.code(), ErrorCode::kCorruption);
    EXPECT_NE(s.message().find("after the end"), std::string::npos) << s.message();
  }
}

TEST(ChangeRecordTest, AnUnknownVersionIsCorruption) {
  for (char version : {'\0', '\x02', '\xFF'}) {
    std::string encoded = EncodeChange(FullChange());
    encoded[0] = version;
    WriteSet out;
    core::Status s = DecodeChange(encoded, &out);
    EXPECT_EQ(s.code(), ErrorCode::kCorruption);
    EXPECT_NE(s.message().find("version"), std::string::npos) << s.message();
  }
}

TEST(ChangeRecordTest, AHugeListLengthIsRefusedBeforeAnythingIsReserved) {
  for (std::uint64_t count : {std::uint64_t{1} << 40, std::numeric_limits<std::uint64_t>::max(), std::uint64_t{40}}) {
    std::string forged(1, 1);
    PutVarint(count, &forged);  // `messages`, in a record far too short for that many
    forged += std::string(30, '\0');
    WriteSet out;
    core::Status s = DecodeChange(forged, &out);
    EXPECT_EQ(s.code(), ErrorCode::kCorruption) << count;
    EXPECT_NE(s.message().find("list longer"), std::string::npos) << s.message();
  }
  // A list inside a record in a list: a message's mentions.
  WriteSet w;
  w.messages = {FullMessage(1)};
  w.messages[0].mentions = {"mentioned"};
  std::string forged = EncodeChange(w);
  std::string count_and_name = "\x01\x09mentioned";
  std::size_t at = forged.find(count_and_name);
  ASSERT_NE(at, std::string::npos);
  std::string huge;
  PutVarint(std::uint64_t{1} << 50, &huge);
  forged.replace(at, 1, huge);
  WriteSet out;
  EXPECT_EQ(DecodeChange(forged, &out).code(), ErrorCode::kCorruption);
}

TEST(ChangeRecordTest, AnEnumOrBoolOutOfRangeIsCorruption) {
  WriteSet w;
  w.contacts = {{"u", "o", core::ContactState::kContact}};
  w.mutes = {{"m", Conversation::Group("g"), true}};
  std::string encoded = EncodeChange(w);
  WriteSet out;
  ASSERT_TRUE(DecodeChange(encoded, &out).ok());

  const std::vector<std::pair<std::string, std::string>> forgeries = {
      {"contact state", WithByteAfter(encoded, "\x01u\x01o", 4)},
      {"conversation kind", WithByteAfter(encoded, "\x01m", 3)},
      {"conversation kind", WithByteAfter(encoded, "\x01m", 0)},
      {"bool", WithByteAfter(encoded, "\x01m\x02\x01g", 2)},
  };
  for (const auto& [what, forged] : forgeries) {
    core::Status s = DecodeChange(forged, &out);
    EXPECT_EQ(s.code(), ErrorCode::kCorruption) << what;
    EXPECT_TRUE(s.message().find("enum") != std::string::npos || s.message().find("bool") != std::string::npos)
        << what << ": " << s.message();
  }

  WriteSet queued;
  queued.queue = {{"q", 1, {}}};
  std::string queue_kind = WithByteAfter(EncodeChange(queued), "\x01q\x01", 9);
  EXPECT_EQ(DecodeChange(queue_kind, &out).code(), ErrorCode::kCorruption);
}

TEST(ChangeRecordTest, ANumberTooLargeForItsFieldIsCorruption) {
  WriteSet w;
  w.push_jobs = {{1, "u", "f", Conversation::Group("g"), 3, "p", 0, 0}};
  std::string encoded = EncodeChange(w);
  std::string count_and_preview = "\x03\x01p";
  std::size_t at = encoded.find(count_and_preview);
  ASSERT_NE(at, std::string::npos);
  std::string too_large;
  PutVarint(std::uint64_t{1} << 32, &too_large);  // the count is 32 bits
  encoded.replace(at, 1, too_large);
  WriteSet out;
  EXPECT_EQ(DecodeChange(encoded, &out).code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace chat::storage
