#include "core/watch_permissions.h"

#include <gtest/gtest.h>

#include <memory>

#include "storage/rocksdb_store.h"
#include "tests/core/temp_dir.h"

namespace chat::core {
namespace {

class WatchPermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::move(*storage::RocksDbStore::Open(dir_.path(), Durability::kProcessCrash)); }
  void Apply(const WriteSet& writes) { ASSERT_TRUE(store_->Apply(writes).ok()); }
  void Group(const std::string& id, std::initializer_list<const char*> members, std::initializer_list<const char*> took_part) {
    WriteSet writes;
    writes.groups.push_back({id, "g", *members.begin(), 1});
    for (const char* m : members) writes.members_added.push_back({id, m, 1});
    for (const char* m : took_part) writes.group_accepts.push_back({id, m, 1});
    Apply(writes);
  }
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(WatchPermissionsTest, ContactsAndActiveMembersOfSmallGroups) {
  WriteSet contacts;
  contacts.contacts.push_back({"alice", "bob", ContactState::kContact});
  contacts.contacts.push_back({"bob", "alice", ContactState::kContact});
  contacts.contacts.push_back({"alice", "eve", ContactState::kOutgoing});
  contacts.contacts.push_back({"eve", "alice", ContactState::kIncoming});
  Apply(contacts);
  Group("1", {"alice", "carol", "dave"}, {"carol"});           // small: carol took part, dave did not
  Group("2", {"alice", "frank", "gina", "hank"}, {"frank"});   // over the limit of 3
  WatchPermissions watch(*store_, 3);
  EXPECT_TRUE(watch.MayWatch("alice", "alice"));
  EXPECT_TRUE(watch.MayWatch("alice", "bob"));
  EXPECT_FALSE(watch.MayWatch("alice", "eve"));    // a request is no contact
  EXPECT_TRUE(watch.MayWatch("alice", "carol"));
  EXPECT_FALSE(watch.MayWatch("alice", "dave"));   // added, never took part
  EXPECT_FALSE(watch.MayWatch("alice", "frank"));  // the group is too large to share presence
  EXPECT_FALSE(watch.MayWatch("carol", "alice"));  // alice never took part in group 1
  EXPECT_FALSE(WatchPermissions(*store_, 0).MayWatch("alice", "carol"));  // groups share nothing at 0
}

TEST_F(WatchPermissionsTest, AnswersComeFromTheSetUntilTheViewerIsForgotten) {
  WatchPermissions watch(*store_, 50);
  EXPECT_FALSE(watch.MayWatch("alice", "bob"));
  WriteSet contact;
  contact.contacts.push_back({"alice", "bob", ContactState::kContact});
  Apply(contact);
  EXPECT_FALSE(watch.MayWatch("alice", "bob"));  // the set was built before the change
  watch.Forget({"alice"});
  EXPECT_TRUE(watch.MayWatch("alice", "bob"));
  WriteSet removal;
  removal.contacts.push_back({"alice", "bob", ContactState::kNone});
  Apply(removal);
  watch.ForgetAll();
  EXPECT_FALSE(watch.MayWatch("alice", "bob"));
}

}  // namespace
}  // namespace chat::core
