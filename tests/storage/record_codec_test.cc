// record_codec: every stored record encodes and decodes back to itself; a truncated, corrupt or unknown
// value is a kCorruption error, never a crash; the older record versions still decode.
#include "storage/record_codec.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace chat::storage {
namespace {

using core::ErrorCode;

// The codec's own encodings, for writing older versions by hand.
void PutVarint(std::uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}
void PutString(const std::string& value, std::string* out) {
  PutVarint(value.size(), out);
  out->append(value);
}

// Text with every kind of byte a field may hold: NUL, high bytes, UTF-8, and a length over 127 (a
// two-byte length prefix).
std::string OddText() {
  std::string text = std::string("nul ") + '\0' + " high \xFF\x80 emoji \xF0\x9F\x98\x80 ";
  text += std::string(200, 'x');
  return text;
}

core::UserRecord User() {
  core::UserRecord user;
  user.user_id = "alice";
  user.password.iterations = 210000;
  user.password.salt = std::string("s\0alt", 5);
  user.password.digest = std::string(32, '\xAB');
  user.is_admin = true;
  user.created_at_ms = 1795000000123;
  user.history_floor = 384000000000000001ULL;
  return user;
}

core::StoredMessage Message() {
  core::StoredMessage m;
  m.id = 384000000000000042ULL;
  m.from = "alice";
  m.to = "bob";
  m.text = OddText();
  m.created_at_ms = 1795000000456;
  m.client_message_id = "c-1";
  return m;
}

// Every strict prefix of `bytes` (a torn or truncated value) is refused with kCorruption.
void ExpectEveryPrefixRefused(const std::string& bytes, const std::function<core::Status(std::string_view)>& decode) {
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    core::Status s = decode(std::string_view(bytes).substr(0, n));
    EXPECT_EQ(s.code(), ErrorCode::kCorruption) << "prefix of " << n << " of " << bytes.size() << " bytes";
  }
}

// --- Round trips -----------------------------------------------------------------------------------------

TEST(RecordCodecTest, UserRoundTrips) {
  core::UserRecord in = User();
  core::UserRecord out;
  ASSERT_TRUE(DecodeUser("alice", EncodeUser(in), &out).ok());
  EXPECT_EQ(out.user_id, "alice");
  EXPECT_EQ(out.password.iterations, 210000u);
  EXPECT_EQ(out.password.salt, in.password.salt);
  EXPECT_EQ(out.password.digest, in.password.digest);
  EXPECT_TRUE(out.is_admin);
  EXPECT_EQ(out.created_at_ms, 1795000000123);
  EXPECT_EQ(out.history_floor, 384000000000000001ULL);
}

TEST(RecordCodecTest, UserIdComesFromTheKey) {
  core::UserRecord out;
  ASSERT_TRUE(DecodeUser("bob", EncodeUser(User()), &out).ok());
  EXPECT_EQ(out.user_id, "bob");
}

TEST(RecordCodecTest, DirectAndGroupMessagesRoundTrip) {
  core::StoredMessage direct = Message();
  core::StoredMessage out;
  ASSERT_TRUE(DecodeMessage(direct.id, EncodeMessage(direct), &out).ok());
  EXPECT_EQ(out.id, direct.id);
  EXPECT_EQ(out.from, "alice");
  EXPECT_EQ(out.to, "bob");
  EXPECT_EQ(out.group_id, "");
  EXPECT_EQ(out.text, direct.text);
  EXPECT_EQ(out.created_at_ms, direct.created_at_ms);
  EXPECT_EQ(out.client_message_id, "c-1");

  core::StoredMessage group = Message();
  group.to.clear();
  group.group_id = "384000000000000777";
  group.client_message_id.clear();
  group.text.clear();
  core::StoredMessage out2;
  ASSERT_TRUE(DecodeMessage(7, EncodeMessage(group), &out2).ok());
  EXPECT_EQ(out2.id, 7u);  // the id is the key's
  EXPECT_EQ(out2.to, "");
  EXPECT_EQ(out2.group_id, "384000000000000777");
  EXPECT_EQ(out2.client_message_id, "");
  EXPECT_EQ(out2.text, "");
}

TEST(RecordCodecTest, EditsAndDeletionsRoundTripAndOlderRecordsReadAsNeverChanged) {
  core::StoredMessage edited = Message();
  edited.edited_at_ms = 1795000009999;
  core::StoredMessage out;
  ASSERT_TRUE(DecodeMessage(edited.id, EncodeMessage(edited), &out).ok());
  EXPECT_EQ(out.edited_at_ms, 1795000009999);
  EXPECT_FALSE(out.deleted());

  core::StoredMessage mentioning = Message();
  mentioning.group_id = "9";
  mentioning.mentions = {"bob", "carol"};
  mentioning.mentions_all = true;
  ASSERT_TRUE(DecodeMessage(mentioning.id, EncodeMessage(mentioning), &out).ok());
  EXPECT_EQ(out.mentions, (std::vector<std::string>{"bob", "carol"}));
  EXPECT_TRUE(out.mentions_all);

  core::StoredMessage tombstone = Message();
  tombstone.text.clear();
  tombstone.deleted_by = "carol";
  ASSERT_TRUE(DecodeMessage(tombstone.id, EncodeMessage(tombstone), &out).ok());
  EXPECT_TRUE(out.deleted());
  EXPECT_EQ(out.deleted_by, "carol");
  EXPECT_EQ(out.text, "");

  // A version 2 record (before edits) is the same fields without the last two.
  std::string v2 = EncodeMessage(Message());
  v2.resize(v2.size() - 4);  // edited_at 0, an empty deleted_by, no mentions, no @all: a byte each
  v2[0] = 2;
  core::StoredMessage old;
  ASSERT_TRUE(DecodeMessage(7, v2, &old).ok());
  EXPECT_EQ(old.text, Message().text);
  EXPECT_EQ(old.edited_at_ms, 0);
  EXPECT_FALSE(old.deleted());
}

TEST(RecordCodecTest, MessageSenderIsReadWithoutTheRest) {
  std::string from;
  ASSERT_TRUE(DecodeMessageSender(EncodeMessage(Message()), &from).ok());
  EXPECT_EQ(from, "alice");
}

TEST(RecordCodecTest, InviteRoundTrips) {
  core::GroupInvite out;
  ASSERT_TRUE(DecodeInvite("bob", "g1", EncodeInvite({"ignored", "ignored", "carol", 99}), &out).ok());
  EXPECT_EQ(out.user_id, "bob");
  EXPECT_EQ(out.group_id, "g1");
  EXPECT_EQ(out.by, "carol");
  EXPECT_EQ(out.at_ms, 99);
}

TEST(RecordCodecTest, GroupRoundTrips) {
  core::GroupRecord out;
  ASSERT_TRUE(DecodeGroup("g1", EncodeGroup({"ignored", OddText(), "alice", 1795000000000}), &out).ok());
  EXPECT_EQ(out.group_id, "g1");
  EXPECT_EQ(out.name, OddText());
  EXPECT_EQ(out.owner, "alice");
  EXPECT_EQ(out.created_at_ms, 1795000000000);
}

TEST(RecordCodecTest, PushTokenRoundTrips) {
  core::PushToken out;
  ASSERT_TRUE(DecodePushToken("phone", EncodePushToken({"ignored", "apns", std::string(300, 't'), "ios"}), &out).ok());
  EXPECT_EQ(out.device_id, "phone");
  EXPECT_EQ(out.provider, "apns");
  EXPECT_EQ(out.token, std::string(300, 't'));
  EXPECT_EQ(out.platform, "ios");
}

TEST(RecordCodecTest, PushJobRoundTripsForBothConversationKinds) {
  for (core::Conversation conversation : {core::Conversation::Direct("alice", "bob"), core::Conversation::Group("g1")}) {
    core::PushJob job;
    job.user_id = "bob";
    job.from = "alice";
    job.conversation = conversation;
    job.count = 70000;
    job.preview = OddText();
    job.created_at_ms = 1795000000789;
    job.message_id = 384000000000001;
    core::PushJob out;
    ASSERT_TRUE(DecodePushJob(12345, EncodePushJob(job), &out).ok());
    EXPECT_EQ(out.job_id, 12345u);
    EXPECT_EQ(out.user_id, "bob");
    EXPECT_EQ(out.from, "alice");
    EXPECT_EQ(out.conversation, conversation);
    EXPECT_EQ(out.count, 70000u);
    EXPECT_EQ(out.preview, OddText());
    EXPECT_EQ(out.created_at_ms, 1795000000789);
    EXPECT_EQ(out.message_id, 384000000000001u);
  }
}

TEST(RecordCodecTest, VersionOnePushJobHasNoMessageId) {
  std::string v1(1, 1);
  PutString("bob", &v1);
  PutString("alice", &v1);
  v1.push_back(static_cast<char>(core::Conversation::Kind::kDirect));
  PutString("alice:bob", &v1);
  PutVarint(2, &v1);
  PutString("hi", &v1);
  PutVarint(1795000000000, &v1);
  core::PushJob out;
  ASSERT_TRUE(DecodePushJob(7, v1, &out).ok());
  EXPECT_EQ(out.preview, "hi");
  EXPECT_EQ(out.count, 2u);
  EXPECT_EQ(out.message_id, 0u);
  std::string unknown = v1;
  unknown[0] = 3;
  EXPECT_FALSE(DecodePushJob(7, unknown, &out).ok());
}

TEST(RecordCodecTest, QueueEntriesOfEveryKindRoundTrip) {
  core::QueueEntry message;
  message.kind = core::QueueEntry::Kind::kMessage;
  message.conversation = core::Conversation::Direct("alice", "bob");
  message.message_id = 384000000000000042ULL;
  message.created_at_ms = 5;
  core::QueueEntry out;
  ASSERT_TRUE(DecodeQueueEntry(EncodeQueueEntry(message), &out).ok());
  EXPECT_EQ(out.kind, core::QueueEntry::Kind::kMessage);
  EXPECT_EQ(out.conversation, message.conversation);
  EXPECT_EQ(out.message_id, message.message_id);
  EXPECT_EQ(out.created_at_ms, 5);
  EXPECT_EQ(out.event_json, "");

  core::QueueEntry change = message;
  change.kind = core::QueueEntry::Kind::kChange;
  ASSERT_TRUE(DecodeQueueEntry(EncodeQueueEntry(change), &out).ok());
  EXPECT_EQ(out.kind, core::QueueEntry::Kind::kChange);
  EXPECT_EQ(out.conversation, message.conversation);
  EXPECT_EQ(out.message_id, message.message_id);

  core::QueueEntry event;
  event.kind = core::QueueEntry::Kind::kEvent;
  event.event_json = R"({"type":"read","up_to":"1"})";
  event.created_at_ms = 6;
  core::QueueEntry out2;
  ASSERT_TRUE(DecodeQueueEntry(EncodeQueueEntry(event), &out2).ok());
  EXPECT_EQ(out2.kind, core::QueueEntry::Kind::kEvent);
  EXPECT_EQ(out2.event_json, event.event_json);
  EXPECT_EQ(out2.created_at_ms, 6);
}

TEST(RecordCodecTest, LargeNumbersSurvive) {
  core::UserRecord user = User();
  user.password.iterations = 0xFFFFFFFFu;
  user.history_floor = 0xFFFFFFFFFFFFFFFFULL;
  user.created_at_ms = 0;
  core::UserRecord out;
  ASSERT_TRUE(DecodeUser("alice", EncodeUser(user), &out).ok());
  EXPECT_EQ(out.password.iterations, 0xFFFFFFFFu);
  EXPECT_EQ(out.history_floor, 0xFFFFFFFFFFFFFFFFULL);
  EXPECT_EQ(out.created_at_ms, 0);
}

// --- Versions --------------------------------------------------------------------------------------------

TEST(RecordCodecTest, EveryRecordStartsWithItsVersion) {
  EXPECT_EQ(EncodeUser(User())[0], 2);
  EXPECT_EQ(EncodeMessage(Message())[0], 3);
  EXPECT_EQ(EncodeGroup({})[0], 1);
  EXPECT_EQ(EncodeInvite({})[0], 1);
  EXPECT_EQ(EncodePushToken({})[0], 1);
  EXPECT_EQ(EncodePushJob({})[0], 2);
  EXPECT_EQ(EncodeQueueEntry({})[0], 1);
}

TEST(RecordCodecTest, VersionOneUserHasNoHistoryFloor) {
  std::string v1(1, 1);
  PutVarint(1000, &v1);
  PutString("salt", &v1);
  PutString("digest", &v1);
  v1.push_back(0);
  PutVarint(1795000000000, &v1);
  core::UserRecord out;
  out.history_floor = 99;
  ASSERT_TRUE(DecodeUser("old", v1, &out).ok());
  EXPECT_EQ(out.password.iterations, 1000u);
  EXPECT_EQ(out.password.salt, "salt");
  EXPECT_EQ(out.password.digest, "digest");
  EXPECT_FALSE(out.is_admin);
  EXPECT_EQ(out.created_at_ms, 1795000000000);
  EXPECT_EQ(out.history_floor, 0u);
}

TEST(RecordCodecTest, VersionOneMessageHasNoGroup) {
  std::string v1(1, 1);
  PutString("alice", &v1);
  PutString("bob", &v1);
  PutVarint(1795000000000, &v1);
  PutString("c1", &v1);
  PutString("old text", &v1);
  core::StoredMessage out;
  ASSERT_TRUE(DecodeMessage(3, v1, &out).ok());
  EXPECT_EQ(out.from, "alice");
  EXPECT_EQ(out.to, "bob");
  EXPECT_EQ(out.group_id, "");
  EXPECT_EQ(out.created_at_ms, 1795000000000);
  EXPECT_EQ(out.client_message_id, "c1");
  EXPECT_EQ(out.text, "old text");
  std::string from;
  ASSERT_TRUE(DecodeMessageSender(v1, &from).ok());
  EXPECT_EQ(from, "alice");
}

TEST(RecordCodecTest, UnknownVersionsAreCorruption) {
  for (char version : {'\0', '\x03', '\x7F', '\xFF'}) {
    std::string user = EncodeUser(User());
    user[0] = version;
    core::UserRecord u;
    EXPECT_EQ(DecodeUser("a", user, &u).code(), ErrorCode::kCorruption);
  }
  for (char version : {'\0', '\x04', '\x7F', '\xFF'}) {
    std::string message = EncodeMessage(Message());
    message[0] = version;
    core::StoredMessage m;
    EXPECT_EQ(DecodeMessage(1, message, &m).code(), ErrorCode::kCorruption);
    std::string from;
    EXPECT_EQ(DecodeMessageSender(message, &from).code(), ErrorCode::kCorruption);
  }
  for (char version : {'\0', '\x02', '\xFF'}) {
    std::string group = EncodeGroup({"g", "n", "o", 1});
    group[0] = version;
    core::GroupRecord g;
    EXPECT_EQ(DecodeGroup("g", group, &g).code(), ErrorCode::kCorruption);
    std::string invite = EncodeInvite({"g", "u", "b", 1});
    invite[0] = version;
    core::GroupInvite i;
    EXPECT_EQ(DecodeInvite("u", "g", invite, &i).code(), ErrorCode::kCorruption);
    std::string token = EncodePushToken({"d", "fcm", "t", "android"});
    token[0] = version;
    core::PushToken t;
    EXPECT_EQ(DecodePushToken("d", token, &t).code(), ErrorCode::kCorruption);
    std::string entry = EncodeQueueEntry({});
    entry[0] = version;
    core::QueueEntry e;
    EXPECT_EQ(DecodeQueueEntry(entry, &e).code(), ErrorCode::kCorruption);
  }
}

TEST(RecordCodecTest, UnknownPushJobVersionsAreCorruption) {
  for (char version : {'\0', '\x03', '\x7F', '\xFF'}) {
    std::string job = EncodePushJob({});
    job[0] = version;
    core::PushJob j;
    EXPECT_EQ(DecodePushJob(1, job, &j).code(), ErrorCode::kCorruption);
  }
}

// --- Truncated and corrupt values ------------------------------------------------------------------------

TEST(RecordCodecTest, TruncatedRecordsAreCorruption) {
  ExpectEveryPrefixRefused(EncodeUser(User()), [](std::string_view b) {
    core::UserRecord out;
    return DecodeUser("alice", b, &out);
  });
  ExpectEveryPrefixRefused(EncodeMessage(Message()), [](std::string_view b) {
    core::StoredMessage out;
    return DecodeMessage(1, b, &out);
  });
  ExpectEveryPrefixRefused(EncodeInvite({"g", "u", "carol", 1795000000000}), [](std::string_view b) {
    core::GroupInvite out;
    return DecodeInvite("u", "g", b, &out);
  });
  ExpectEveryPrefixRefused(EncodeGroup({"g", "Team", "alice", 1795000000000}), [](std::string_view b) {
    core::GroupRecord out;
    return DecodeGroup("g", b, &out);
  });
  ExpectEveryPrefixRefused(EncodePushToken({"d", "fcm", "token", "android"}), [](std::string_view b) {
    core::PushToken out;
    return DecodePushToken("d", b, &out);
  });
  core::PushJob job;
  job.user_id = "bob";
  job.from = "alice";
  job.conversation = core::Conversation::Direct("alice", "bob");
  job.count = 2;
  job.preview = "hi";
  job.created_at_ms = 1795000000000;
  ExpectEveryPrefixRefused(EncodePushJob(job), [](std::string_view b) {
    core::PushJob out;
    return DecodePushJob(1, b, &out);
  });
  core::QueueEntry message;
  message.conversation = core::Conversation::Group("g1");
  message.message_id = 384000000000000042ULL;
  message.created_at_ms = 1795000000000;
  ExpectEveryPrefixRefused(EncodeQueueEntry(message), [](std::string_view b) {
    core::QueueEntry out;
    return DecodeQueueEntry(b, &out);
  });
  core::QueueEntry event;
  event.kind = core::QueueEntry::Kind::kEvent;
  event.event_json = "{\"type\":\"x\"}";
  ExpectEveryPrefixRefused(EncodeQueueEntry(event), [](std::string_view b) {
    core::QueueEntry out;
    return DecodeQueueEntry(b, &out);
  });
  std::string from;
  EXPECT_EQ(DecodeMessageSender(EncodeMessage(Message()).substr(0, 3), &from).code(), ErrorCode::kCorruption);
}

TEST(RecordCodecTest, ALengthPastTheEndIsCorruptionNotAnOverread) {
  std::string message(1, 2);
  PutVarint(1ULL << 40, &message);  // "from" claims a terabyte
  message += "alice";
  core::StoredMessage out;
  EXPECT_EQ(DecodeMessage(1, message, &out).code(), ErrorCode::kCorruption);
  std::string from;
  EXPECT_EQ(DecodeMessageSender(message, &from).code(), ErrorCode::kCorruption);
}

TEST(RecordCodecTest, AVarintThatNeverEndsIsCorruption) {
  std::string user(1, 2);
  user += std::string(12, '\xFF');  // continuation bits all the way
  core::UserRecord out;
  EXPECT_EQ(DecodeUser("alice", user, &out).code(), ErrorCode::kCorruption);
  std::string group(1, 1);
  group += std::string(11, '\x80');
  core::GroupRecord g;
  EXPECT_EQ(DecodeGroup("g", group, &g).code(), ErrorCode::kCorruption);
}

TEST(RecordCodecTest, AQueueEntryOfUnknownKindIsCorruption) {
  std::string entry = EncodeQueueEntry({});
  entry[1] = 9;
  core::QueueEntry out;
  core::Status s = DecodeQueueEntry(entry, &out);
  EXPECT_EQ(s.code(), ErrorCode::kCorruption);
  EXPECT_EQ(s.message(), "unknown queue entry kind");
}

TEST(RecordCodecTest, RandomBytesNeverCrashTheDecoders) {
  // Every value from a fixed pseudo-random stream: any answer is fine, but no crash and no exception.
  std::uint32_t state = 12345;
  auto next = [&] {
    state = state * 1103515245u + 12345u;
    return static_cast<char>(state >> 16);
  };
  int decoded = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(static_cast<std::size_t>(round % 40), '\0');
    for (char& c : bytes) c = next();
    if (!bytes.empty()) bytes[0] = static_cast<char>(1 + round % 2);  // a known version, so fields are read
    core::UserRecord u;
    core::StoredMessage m;
    core::GroupRecord g;
    core::GroupInvite i;
    core::PushToken t;
    core::PushJob j;
    core::QueueEntry e;
    std::string from;
    decoded += DecodeUser("u", bytes, &u).ok() + DecodeMessage(1, bytes, &m).ok() + DecodeGroup("g", bytes, &g).ok() +
               DecodeInvite("u", "g", bytes, &i).ok() + DecodePushToken("d", bytes, &t).ok() +
               DecodePushJob(1, bytes, &j).ok() + DecodeQueueEntry(bytes, &e).ok() +
               DecodeMessageSender(bytes, &from).ok();
  }
  EXPECT_GE(decoded, 0);
}

}  // namespace
}  // namespace chat::storage
