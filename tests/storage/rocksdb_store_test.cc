#include "storage/rocksdb_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <tuple>

#include "core/message_id.h"
#include "storage/key_format.h"
#include "tests/core/temp_dir.h"

namespace chat::storage {
namespace {

using core::ErrorCode;
using core::HistoryQuery;
using core::StoredMessage;

std::unique_ptr<RocksDbStore> OpenStore(const std::string& path) {
  auto store = RocksDbStore::Open(path, core::Durability::kProcessCrash);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(*store);
}

StoredMessage Message(core::MessageId id, const char* from, const char* to, std::string text, const char* cmid = "") {
  StoredMessage message;
  message.id = id;
  message.from = from;
  message.to = to;
  message.text = std::move(text);
  message.created_at_ms = 1700000000000 + static_cast<std::int64_t>(id);
  message.client_message_id = cmid;
  return message;
}

core::Status Append(RocksDbStore& store, const StoredMessage& message) {
  core::WriteSet writes;
  writes.messages.push_back(message);
  writes.id_floor = message.id;  // as the core states it for every id it took
  return store.Apply(writes);
}

core::Conversation Direct(const char* a, const char* b) { return core::Conversation::Direct(a, b); }

TEST(RocksDbStoreTest, UsersRoundTrip) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  core::UserRecord alice{"alice", {1000, "salt", std::string(32, 'd')}, true, 42};
  ASSERT_TRUE(store->PutUser(alice).ok());
  ASSERT_TRUE(store->PutUser({"bob", {1000, "s", "d"}, false, 1}).ok());
  auto read = store->GetUser("alice");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->password.iterations, 1000u);
  EXPECT_EQ(read->password.salt, "salt");
  EXPECT_EQ(read->password.digest, std::string(32, 'd'));
  EXPECT_TRUE(read->is_admin);
  EXPECT_EQ(read->created_at_ms, 42);
  EXPECT_TRUE(store->UserExists("bob").ok());
  EXPECT_EQ(store->UserExists("carol").code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->GetUser("carol").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ((*store->ListUsers("", 10)), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ((*store->ListUsers("alice", 10)), (std::vector<std::string>{"bob"}));
  EXPECT_EQ((*store->ListUsers("", 1)), (std::vector<std::string>{"alice"}));
  ASSERT_TRUE(store->DeleteUser("alice").ok());
  EXPECT_EQ(store->DeleteUser("alice").code(), ErrorCode::kNotFound);
}

TEST(RocksDbStoreTest, ConversationsReadInIdOrderAndStayApart) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(Append(*store, Message(10, "a", "b", "one")).ok());
  ASSERT_TRUE(Append(*store, Message(30, "b", "a", "three")).ok());
  ASSERT_TRUE(Append(*store, Message(20, "a", "b", "two")).ok());
  // "a:bc" shares the prefix "a:b" as text; it must not leak into a:b.
  ASSERT_TRUE(Append(*store, Message(25, "a", "bc", "elsewhere")).ok());

  auto page = store->ReadConversation(Direct("b", "a"), HistoryQuery{0, 0, 10, true});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_EQ(page->messages[0].text, "three");
  EXPECT_EQ(page->messages[2].text, "one");
  EXPECT_EQ(page->messages[0].from, "b");
  EXPECT_EQ(page->messages[0].id, 30u);
  EXPECT_FALSE(page->more);

  auto forward = store->ReadConversation(Direct("a", "b"), HistoryQuery{10, 0, 1, false});
  ASSERT_EQ(forward->messages.size(), 1u);
  EXPECT_EQ(forward->messages[0].text, "two");
  EXPECT_TRUE(forward->more);

  auto between = store->ReadConversation(Direct("a", "b"), HistoryQuery{10, 30, 10, true});
  ASSERT_EQ(between->messages.size(), 1u);
  EXPECT_EQ(between->messages[0].id, 20u);

  auto edge = store->ReadConversation(Direct("a", "b"), HistoryQuery{UINT64_MAX, 0, 10, false});
  EXPECT_TRUE(edge->messages.empty());
}

TEST(RocksDbStoreTest, IdempotencyEntryAndLargestIdAreWrittenWithTheMessage) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  EXPECT_EQ(*store->LargestMessageId(), 0u);
  EXPECT_FALSE(store->FindByClientMessageId("a", "c1")->has_value());
  ASSERT_TRUE(Append(*store, Message(77, "a", "b", "x", "c1")).ok());
  EXPECT_EQ(*store->LargestMessageId(), 77u);
  EXPECT_EQ(store->FindByClientMessageId("a", "c1")->value(), 77u);
  EXPECT_FALSE(store->FindByClientMessageId("b", "c1")->has_value());
}

TEST(RocksDbStoreTest, AGroupCommitStoresEverySetAndTheLargestIdFloorOfThem) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  core::WriteSet later, earlier, none;
  later.messages.push_back(Message(90, "a", "b", "later", "c2"));
  later.id_floor = 90;
  earlier.messages.push_back(Message(80, "a", "b", "earlier", "c1"));
  earlier.id_floor = 80;  // a smaller floor after a larger one must not win
  ASSERT_TRUE(store->ApplyAll({&later, &earlier, &none}).ok());
  EXPECT_EQ(*store->LargestMessageId(), 90u);
  EXPECT_EQ(store->FindByClientMessageId("a", "c1")->value(), 80u);
  EXPECT_EQ(store->FindByClientMessageId("a", "c2")->value(), 90u);
  EXPECT_EQ(store->ReadConversation(Direct("a", "b"), HistoryQuery{})->messages.size(), 2u);
}

TEST(RocksDbStoreTest, WritesAreRefusedWhileTheDiskIsBelowItsFreeSpaceAndGoOnOnceThereIsRoom) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  std::uint64_t free_bytes = 10 << 20;
  store->RequireFreeDisk(64 << 20, [&] { return free_bytes; });
  core::Status refused = Append(*store, Message(1, "a", "b", "no room", "c1"));
  EXPECT_EQ(refused.code(), core::ErrorCode::kIoError);
  EXPECT_EQ(refused.message(), "the disk holding the store has 10 MB free; writes need 64 MB (min_free_disk_mb)");
  EXPECT_FALSE(store->FindByClientMessageId("a", "c1")->has_value()) << "nothing of it was written";
  EXPECT_EQ(store->RecoverFromWriteFailure().code(), core::ErrorCode::kIoError) << "still no room";
  free_bytes = 100 << 20;
  EXPECT_TRUE(store->RecoverFromWriteFailure().ok());
  ASSERT_TRUE(Append(*store, Message(1, "a", "b", "room again", "c1")).ok());
  EXPECT_EQ(store->FindByClientMessageId("a", "c1")->value(), 1u);
}

TEST(RocksDbStoreTest, EverythingSurvivesReopening) {
  testing::TempDir dir;
  {
    auto store = OpenStore(dir.path());
    ASSERT_TRUE(store->PutUser({"alice", {1000, "s", "d"}, false, 1}).ok());
    ASSERT_TRUE(Append(*store, Message(5, "alice", "bob", "kept", "c")).ok());
  }
  auto store = OpenStore(dir.path());
  EXPECT_TRUE(store->UserExists("alice").ok());
  EXPECT_EQ(*store->LargestMessageId(), 5u);
  auto page = store->ReadConversation(Direct("alice", "bob"), HistoryQuery{});
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_EQ(page->messages[0].text, "kept");
  EXPECT_EQ(page->messages[0].client_message_id, "c");
}

TEST(RocksDbStoreTest, SecondOpenOfTheSameFolderFails) {
  testing::TempDir dir;
  auto first = OpenStore(dir.path());
  auto second = RocksDbStore::Open(dir.path(), core::Durability::kProcessCrash);
  EXPECT_FALSE(second.ok());
}

TEST(RocksDbStoreTest, GroupsMembersQueuesAndReadPositions) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  core::WriteSet writes;
  writes.groups.push_back({"42", "Team", "alice", 7});
  writes.members_added.push_back({"42", "alice", 1});
  writes.members_added.push_back({"42", "bob", 2});
  StoredMessage posted = Message(100, "bob", "", "to the group");
  posted.group_id = "42";
  writes.messages.push_back(posted);
  core::QueueEntry entry{core::QueueEntry::Kind::kMessage, core::Conversation::Group("42"), 100, "", 5};
  writes.queue.push_back({"alice", 1, entry});
  writes.queue.push_back({"bob", 1, entry});
  writes.queue.push_back({"bob", 2, {core::QueueEntry::Kind::kEvent, {}, 0, R"({"type":"read"})", 6}});
  writes.read_positions.push_back({"bob", core::Conversation::Group("42"), 100});
  ASSERT_TRUE(store->Apply(writes).ok());

  EXPECT_EQ((*store->GetGroup("42"))->owner, "alice");
  EXPECT_FALSE(store->GetGroup("43")->has_value());
  ASSERT_EQ(store->ListMembers("42")->size(), 2u);
  EXPECT_EQ((*store->ListMembers("42"))[1].joined_at_ms, 2);
  EXPECT_TRUE(store->CheckMember("42", "bob").ok());
  EXPECT_EQ(store->CheckMember("42", "carol").code(), ErrorCode::kNotFound);
  EXPECT_EQ(*store->ListUserGroups("bob"), std::vector<std::string>{"42"});
  EXPECT_EQ((*store->GetMessage(core::Conversation::Group("42"), 100))->text, "to the group");
  EXPECT_FALSE(store->GetMessage(Direct("bob", "alice"), 100)->has_value());  // tables stay apart
  EXPECT_EQ(*store->LastMessageId(core::Conversation::Group("42")), 100u);
  EXPECT_EQ(store->CountMessagesAfter(core::Conversation::Group("42"), 0, "alice", 10, 0)->count, 1u);
  EXPECT_EQ(store->CountMessagesAfter(core::Conversation::Group("42"), 0, "bob", 10, 0)->count, 0u);
  EXPECT_EQ(*store->GetReadPosition("bob", core::Conversation::Group("42")), 100u);
  EXPECT_EQ(*store->GetReadPosition("alice", core::Conversation::Group("42")), 0u);

  EXPECT_EQ(*store->LastQueueSeq("bob"), 2u);
  EXPECT_EQ(*store->LastQueueSeq("carol"), 0u);
  auto page = store->ReadQueue("bob", 0, 1);
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->last_seq, 2u);
  EXPECT_EQ(page->entries[0].entry.message_id, 100u);
  auto rest = store->ReadQueue("bob", 1, 10);
  ASSERT_EQ(rest->entries.size(), 1u);
  EXPECT_EQ(rest->entries[0].entry.event_json, R"({"type":"read"})");
  EXPECT_FALSE(rest->more);

  // Retention keeps the newest entry of each queue (alice's only one too), and a device behind the
  // trimmed part is told.
  auto swept = store->ApplyRetention({/*messages_before_ms=*/0, /*queue_before_ms=*/100});
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  EXPECT_EQ(swept->queue_entries, 1u);
  EXPECT_EQ(swept->messages, 0u);
  EXPECT_EQ(store->ReadQueue("alice", 0, 10)->entries.size(), 1u);
  auto trimmed = store->ReadQueue("bob", 0, 10);
  ASSERT_EQ(trimmed->entries.size(), 1u);
  EXPECT_EQ(trimmed->entries[0].seq, 2u);
  EXPECT_TRUE(trimmed->truncated);

  core::WriteSet removal;
  removal.members_removed.push_back({"42", "bob", 0});
  ASSERT_TRUE(store->Apply(removal).ok());
  EXPECT_EQ(store->CheckMember("42", "bob").code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store->ListUserGroups("bob")->empty());
}

TEST(RocksDbStoreTest, PagesAndUnreadScansStopAtTheirByteBound) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  core::WriteSet writes;
  for (core::MessageId id = 1; id <= 10; ++id) writes.messages.push_back(Message(id, "alice", "bob", std::string(1000, 'x')));
  ASSERT_TRUE(store->Apply(writes).ok());
  core::Conversation ab = Direct("alice", "bob");

  core::HistoryQuery query;
  query.limit = 10;
  query.max_bytes = 2500;  // the third message passes it: three are read, the page has more
  auto page = store->ReadConversation(ab, query);
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->messages[0].id, 10u);
  query.max_bytes = 1;  // however small the bound, one message is read
  EXPECT_EQ(store->ReadConversation(ab, query)->messages.size(), 1u);
  query.max_bytes = 0;
  EXPECT_EQ(store->ReadConversation(ab, query)->messages.size(), 10u);

  auto unread = store->CountMessagesAfter(ab, 0, "bob", 100, 2500);
  EXPECT_EQ(unread->count, 3u);
  EXPECT_FALSE(unread->complete);
  EXPECT_GE(unread->bytes_read, 3000u);
  auto all = store->CountMessagesAfter(ab, 0, "bob", 100, 0);
  EXPECT_EQ(all->count, 10u);
  EXPECT_TRUE(all->complete);
  auto by_count = store->CountMessagesAfter(ab, 0, "bob", 10, 0);
  EXPECT_EQ(by_count->count, 10u);
  EXPECT_TRUE(by_count->complete);  // exactly `cap` messages: nothing was left out
  EXPECT_FALSE(store->CountMessagesAfter(ab, 0, "bob", 9, 0)->complete);
}

TEST(RocksDbStoreTest, InvitationsAndErasingAnAccountsRecords) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  core::WriteSet writes;
  writes.invites_added.push_back({"42", "zed", "yara", 5});
  writes.contacts.push_back({"zed", "yara", core::ContactState::kContact});
  writes.read_positions.push_back({"zed", Direct("zed", "yara"), 7});
  writes.peers.push_back({"zed", {"yara", 7}});
  writes.push_tokens.push_back({"zed", {"phone", "fcm", "t", ""}});
  writes.last_active.push_back({"zed", 99});
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    writes.queue.push_back({"zed", seq, {core::QueueEntry::Kind::kEvent, {}, 0, R"({"type":"read"})", 1}});
  }
  writes.messages.push_back(Message(7, "zed", "yara", "hi", "c-1"));
  writes.queue.push_back({"yara", 1, {core::QueueEntry::Kind::kMessage, Direct("zed", "yara"), 7, "", 1}});
  ASSERT_TRUE(store->Apply(writes).ok());
  ASSERT_EQ(store->ReadInbox("yara", 0, 10)->entries.size(), 1u);
  auto invites = store->ListInvites("zed");
  ASSERT_EQ(invites->size(), 1u);
  EXPECT_EQ((*invites)[0].by, "yara");
  EXPECT_EQ((*invites)[0].group_id, "42");

  core::WriteSet erase;
  erase.erased_users.push_back("zed");
  erase.queue.push_back({"zed", 4, {core::QueueEntry::Kind::kEvent, {}, 0, R"({"type":"new"})", 2}});
  ASSERT_TRUE(store->Apply(erase).ok());
  EXPECT_TRUE(store->ListInvites("zed")->empty());
  EXPECT_TRUE(store->ListContacts("zed")->empty());
  EXPECT_TRUE(store->ReadInbox("zed", 0, 10)->entries.empty());
  EXPECT_TRUE(store->ListPushTokens("zed")->empty());
  EXPECT_EQ(*store->GetReadPosition("zed", Direct("zed", "yara")), 0u);
  EXPECT_EQ(*store->GetLastActive("zed"), 0);
  // The old queue is never read again; its numbering goes on.
  auto page = store->ReadQueue("zed", 0, 10);
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].seq, 4u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->last_seq, 4u);
  // The other side's records and the shared history stay.
  EXPECT_EQ(store->ReadInbox("yara", 0, 10)->entries.size(), 1u);
  EXPECT_EQ(store->ReadConversation(Direct("zed", "yara"), {})->messages.size(), 1u);
  EXPECT_EQ(**store->FindByClientMessageId("zed", "c-1"), 7u);  // ignored by the next zed (history floor)
}

TEST(KeyFormatTest, MessageKeysSortByIdWithinAConversation) {
  core::Conversation ab = Direct("a", "b");
  EXPECT_LT(MessageKey(ab, 1), MessageKey(ab, 256));
  EXPECT_LT(MessageKey(ab, UINT64_MAX), PrefixEnd(ConversationPrefix(ab)));
  EXPECT_LT(ConversationPrefix(ab), MessageKey(ab, 0));
  EXPECT_EQ(TrailingNumber(MessageKey(ab, 123456789)), 123456789u);
  // A group and a 1:1 conversation never share keys.
  EXPECT_NE(ConversationPrefix(core::Conversation::Group("1")).substr(0, 2), "m/");
}

}  // namespace
}  // namespace chat::storage

namespace chat::storage {
namespace {

// A message id of `days` ago (ids carry their time).
core::MessageId DaysAgo(std::int64_t now_ms, int days, int sequence = 0) {
  return core::MessageIdGenerator::FirstIdAt(now_ms - std::int64_t{days} * 86400000) + sequence;
}

TEST(RocksDbStoreTest, RetentionRemovesWhatIsOlderThanTheCutoffsAndNothingElse) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  std::int64_t now = 1800000000000;  // 2027
  core::WriteSet writes;
  auto stored = [](core::MessageId id, const char* from, const char* to, const char* group, const char* text) {
    StoredMessage message;
    message.id = id;
    message.from = from;
    message.to = to;
    message.group_id = group;
    message.text = text;
    message.created_at_ms = core::MessageIdGenerator::TimestampMillis(id);
    return message;
  };
  // alice-bob: two old messages and a new one; carol-dave: only old ones; a group: one old, one new.
  for (auto [id, from, to] : {std::tuple{DaysAgo(now, 40), "alice", "bob"}, {DaysAgo(now, 31, 1), "bob", "alice"},
                              {DaysAgo(now, 29), "alice", "bob"}, {DaysAgo(now, 50), "carol", "dave"}}) {
    writes.messages.push_back(stored(id, from, to, "", "t"));
  }
  writes.messages.push_back(stored(DaysAgo(now, 45), "alice", "", "7", "old in group"));
  writes.messages.push_back(stored(DaysAgo(now, 1), "alice", "", "7", "new in group"));
  // bob's queue: entries of 20, 10 and 2 days ago; carol's: only expired ones; dave's: one expired.
  auto entry = [&](int days) {
    return core::QueueEntry{core::QueueEntry::Kind::kEvent, {}, 0, "{}", now - std::int64_t{days} * 86400000};
  };
  writes.queue.push_back({"bob", 1, entry(20)});
  writes.queue.push_back({"bob", 2, entry(10)});
  writes.queue.push_back({"bob", 3, entry(2)});
  writes.queue.push_back({"carol", 1, entry(20)});
  writes.queue.push_back({"carol", 2, entry(15)});
  writes.queue.push_back({"dave", 1, entry(20)});
  ASSERT_TRUE(store->Apply(writes).ok());

  auto stats = store->Statistics();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->messages, 6u);
  EXPECT_EQ(stats->users, 0u);

  // History older than 30 days, queue entries older than 7 days.
  auto swept = store->ApplyRetention({now - 30 * 86400000LL, now - 7 * 86400000LL});
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  EXPECT_EQ(swept->messages, 4u);
  EXPECT_EQ(swept->queue_entries, 3u);  // bob's 1 and 2, carol's 1; carol's and dave's newest stay

  core::HistoryQuery all;
  all.limit = 100;
  auto alice_bob = store->ReadConversation(Direct("alice", "bob"), all);
  ASSERT_EQ(alice_bob->messages.size(), 1u);
  EXPECT_EQ(alice_bob->messages[0].id, DaysAgo(now, 29));
  EXPECT_TRUE(store->ReadConversation(Direct("carol", "dave"), all)->messages.empty());
  auto group = store->ReadConversation(core::Conversation::Group("7"), all);
  ASSERT_EQ(group->messages.size(), 1u);
  EXPECT_EQ(group->messages[0].text, "new in group");

  auto bob = store->ReadQueue("bob", 0, 10);
  ASSERT_EQ(bob->entries.size(), 1u);
  EXPECT_EQ(bob->entries[0].seq, 3u);
  EXPECT_TRUE(bob->truncated);
  EXPECT_EQ(*store->LastQueueSeq("carol"), 2u) << "a queue's numbering goes on after a sweep";
  EXPECT_EQ(store->ReadQueue("dave", 0, 10)->entries.size(), 1u);

  // A second sweep finds nothing more; the statistics follow.
  auto again = store->ApplyRetention({now - 30 * 86400000LL, now - 7 * 86400000LL});
  EXPECT_EQ(again->messages, 0u);
  EXPECT_EQ(again->queue_entries, 0u);
  EXPECT_EQ(store->Statistics()->messages, 2u);
}

TEST(RocksDbStoreTest, StatisticsNameEveryTableAndCountUsersAndGroups) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  for (const char* user : {"alice", "bob", "carol"}) {
    core::UserRecord record;
    record.user_id = user;
    ASSERT_TRUE(store->PutUser(record).ok());
  }
  core::WriteSet writes;
  writes.groups.push_back(core::GroupRecord{"7", "seven", "alice", 1});
  ASSERT_TRUE(store->Apply(writes).ok());
  auto stats = store->Statistics();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->users, 3u);
  EXPECT_EQ(stats->groups, 1u);
  ASSERT_EQ(stats->tables.size(), std::size(kTables));
  EXPECT_EQ(stats->tables[0].name, "accounts");
  core::MetricSamples samples;
  store->Describe(samples);
  ASSERT_EQ(samples.samples().size(), 1u);
  EXPECT_EQ(samples.samples()[0].family, "chat_store_bytes");
  EXPECT_GT(samples.samples()[0].value, 0) << "three accounts are in the write buffer";
}

}  // namespace
}  // namespace chat::storage
