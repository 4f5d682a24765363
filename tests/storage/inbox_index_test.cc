// The conversation list the store keeps (storage/inbox_index.h): order by activity, paging, group
// membership, several moves in one batch, and building it for a store of the older layout.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/key_format.h"
#include "storage/rocksdb_store.h"
#include "tests/core/temp_dir.h"

namespace chat::storage {
namespace {

using core::Conversation;
using core::MessageId;
using core::QueueEntry;
using core::WriteSet;

std::unique_ptr<RocksDbStore> OpenStore(const std::string& path) {
  auto store = RocksDbStore::Open(path, core::Durability::kProcessCrash);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// A message as the core writes it: stored, queued for each recipient, 1:1 peers moved.
void AddMessage(WriteSet* writes, MessageId id, const std::string& from, const std::string& to,
                const std::string& group, const std::vector<std::string>& recipients) {
  core::StoredMessage message;
  message.id = id;
  message.from = from;
  message.to = group.empty() ? to : "";
  message.group_id = group;
  message.text = "text " + std::to_string(id);
  for (const std::string& user : recipients) {
    writes->queue.push_back({user, id, {QueueEntry::Kind::kMessage, message.conversation(), id, "", 1}});
  }
  if (group.empty()) {
    writes->peers.push_back({from, {to, id}});
    if (to != from) writes->peers.push_back({to, {from, id}});
  }
  writes->messages.push_back(std::move(message));
}

core::Status Send(RocksDbStore& store, MessageId id, const std::string& from, const std::string& to) {
  WriteSet writes;
  AddMessage(&writes, id, from, to, "", {from, to});
  return store.Apply(writes);
}

// The list as "<peer or group>@<activity>" strings, newest first.
std::vector<std::string> List(RocksDbStore& store, const std::string& user, MessageId before = 0,
                              std::size_t limit = 100, bool* more = nullptr) {
  auto page = store.ReadInbox(user, before, limit);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  std::vector<std::string> out;
  if (!page.ok()) return out;
  for (const core::InboxEntry& entry : page->entries) {
    std::string name = entry.conversation.is_group() ? "g" + entry.conversation.key : entry.conversation.PeerOf(user);
    out.push_back(name + "@" + std::to_string(entry.activity));
  }
  if (more != nullptr) *more = page->more;
  return out;
}

using List_ = std::vector<std::string>;

TEST(InboxIndexTest, AMessageMovesItsConversationToTheTopForBothSides) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(Send(*store, 10, "ann", "bob").ok());
  ASSERT_TRUE(Send(*store, 11, "cat", "ann").ok());
  ASSERT_TRUE(Send(*store, 12, "ann", "dan").ok());
  EXPECT_EQ(List(*store, "ann"), (List_{"dan@12", "cat@11", "bob@10"}));
  ASSERT_TRUE(Send(*store, 13, "bob", "ann").ok());
  EXPECT_EQ(List(*store, "ann"), (List_{"bob@13", "dan@12", "cat@11"}));
  EXPECT_EQ(List(*store, "bob"), (List_{"ann@13"}));
  EXPECT_EQ(List(*store, "cat"), (List_{"ann@11"}));
  // Notes to self are a conversation too.
  ASSERT_TRUE(Send(*store, 14, "ann", "ann").ok());
  EXPECT_EQ(List(*store, "ann")[0], "ann@14");
  EXPECT_EQ(List(*store, "ann").size(), 4u);
}

TEST(InboxIndexTest, PagesGoOnBelowTheCursor) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  for (MessageId id = 1; id <= 5; ++id) ASSERT_TRUE(Send(*store, id, "ann", "peer" + std::to_string(id)).ok());
  bool more = false;
  EXPECT_EQ(List(*store, "ann", 0, 2, &more), (List_{"peer5@5", "peer4@4"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(List(*store, "ann", 4, 2, &more), (List_{"peer3@3", "peer2@2"}));
  EXPECT_TRUE(more);
  EXPECT_EQ(List(*store, "ann", 2, 2, &more), (List_{"peer1@1"}));
  EXPECT_FALSE(more);
  // Another user's list is not part of the range.
  EXPECT_EQ(List(*store, "an").size(), 0u);
  EXPECT_EQ(List(*store, "anna").size(), 0u);
}

TEST(InboxIndexTest, GroupsFollowMembershipAndMessages) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string group = "100";
  WriteSet create;
  create.groups.push_back({group, "team", "ann", 1});
  for (const char* user : {"ann", "bob"}) create.members_added.push_back({group, user, 1});
  ASSERT_TRUE(store->Apply(create).ok());
  ASSERT_TRUE(Send(*store, 150, "ann", "cat").ok());
  // A group nobody wrote in yet is as new as its creation.
  EXPECT_EQ(List(*store, "ann"), (List_{"cat@150", "g100@100"}));

  WriteSet post;
  AddMessage(&post, 200, "bob", "", group, {"ann", "bob"});
  ASSERT_TRUE(store->Apply(post).ok());
  EXPECT_EQ(List(*store, "ann"), (List_{"g100@200", "cat@150"}));
  EXPECT_EQ(List(*store, "bob"), (List_{"g100@200"}));

  // A member added later finds the group where the others have it; one who leaves loses it.
  WriteSet change;
  change.members_added.push_back({group, "cat", 2});
  change.members_removed.push_back({group, "bob", 0});
  ASSERT_TRUE(store->Apply(change).ok());
  EXPECT_EQ(List(*store, "cat"), (List_{"g100@200", "ann@150"}));
  EXPECT_TRUE(List(*store, "bob").empty());

  WriteSet again;
  AddMessage(&again, 300, "cat", "", group, {"ann", "cat"});
  ASSERT_TRUE(store->Apply(again).ok());
  EXPECT_EQ(List(*store, "cat"), (List_{"g100@300", "ann@150"}));
  EXPECT_EQ(List(*store, "ann"), (List_{"g100@300", "cat@150"}));
}

TEST(InboxIndexTest, SeveralMovesInOneBatchLeaveOneEntryEach) {
  testing::TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_TRUE(Send(*store, 5, "ann", "bob").ok());
  WriteSet first, second, third;
  AddMessage(&first, 6, "ann", "bob", "", {"ann", "bob"});
  AddMessage(&second, 7, "bob", "ann", "", {"ann", "bob"});
  third.groups.push_back({"8", "g", "ann", 1});
  third.members_added.push_back({"8", "ann", 1});
  AddMessage(&third, 9, "ann", "", "8", {"ann"});
  ASSERT_TRUE(store->ApplyAll({&first, &second, &third}).ok());
  EXPECT_EQ(List(*store, "ann"), (List_{"g8@9", "bob@7"}));
  EXPECT_EQ(List(*store, "bob"), (List_{"ann@7"}));
}

TEST(InboxIndexTest, AStoreOfTheFirstLayoutGetsItsListsBuiltWhenOpened) {
  testing::TempDir dir;
  {
    auto store = OpenStore(dir.path());
    ASSERT_TRUE(Send(*store, 10, "ann", "bob").ok());
    WriteSet create;
    create.groups.push_back({"20", "quiet", "ann", 1});
    create.groups.push_back({"30", "busy", "ann", 1});
    for (const char* group : {"20", "30"}) create.members_added.push_back({group, "ann", 1});
    AddMessage(&create, 40, "ann", "", "30", {"ann"});
    ASSERT_TRUE(store->Apply(create).ok());
  }
  {
    // Turn it back into a layout 1 store: no lists, no group activity, version 1.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    std::vector<std::string> derived;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string key = it->key().ToString();
      if (key.rfind("ib/", 0) == 0 || key.rfind("gact/", 0) == 0) derived.push_back(key);
    }
    ASSERT_EQ(derived.size(), 5u);  // ann: bob, 20, 30; bob: ann; gact/30
    for (const std::string& key : derived) ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), key).ok());
    std::string one;
    AppendBigEndian64(1, &one);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), std::string(kFormatVersionKey), one).ok());
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(List(*store, "ann"), (List_{"g30@40", "g20@20", "bob@10"}));
  EXPECT_EQ(List(*store, "bob"), (List_{"ann@10"}));
  // And the built list moves on as before.
  WriteSet post;
  AddMessage(&post, 50, "ann", "", "20", {"ann"});
  ASSERT_TRUE(store->Apply(post).ok());
  EXPECT_EQ(List(*store, "ann"), (List_{"g20@50", "g30@40", "bob@10"}));
}

}  // namespace
}  // namespace chat::storage
