// StoreSafetyTest: what the broker does with a store it should not trust. One it cannot open (held by
// another process, damaged, missing its CURRENT file, of a newer layout) stops start-up with a message
// that says what is wrong, and is left exactly as it was; a single damaged record fails only the
// requests that read it, and the broker goes on serving everyone else.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "storage/key_format.h"
#include "storage/rocksdb_store.h"
#include "tests/integration/broker_fixture.h"

namespace chat::harness {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Every data file of the folder with its size and a hash of its contents: what "left exactly as it was"
// is checked against. RocksDB's info logs (LOG, LOG.old.*) and its LOCK are not data.
std::map<std::string, std::string> Snapshot(const std::string& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name == "LOCK" || name.rfind("LOG", 0) == 0) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string contents(std::istreambuf_iterator<char>(in), {});
    files[name] = std::to_string(contents.size()) + " bytes, hash " + std::to_string(std::hash<std::string>()(contents));
  }
  return files;
}

class StoreSafetyTest : public BrokerFixture {
 protected:
  // A store with alice's two messages to bob and carol's one to dave, the broker stopped.
  void SetUp() override {
    StartBroker({"alice", "bob", "carol", "dave"});
    auto alice = Device("alice", "phone");
    auto bob = Device("bob", "phone");
    auto carol = Device("carol", "phone");
    auto dave = Device("dave", "phone");
    MakeContacts(*alice, *bob);
    MakeContacts(*carol, *dave);
    for (const char* text : {"first", "second"}) {
      ASSERT_LT(alice->Send("bob", text, text), 0x80);
      auto ack = alice->WaitForType("ack");
      ASSERT_TRUE(ack);
      message_ids_.push_back((*ack)["id"]);
    }
    ASSERT_LT(carol->Send("dave", "hello dave", "c1"), 0x80);
    ASSERT_TRUE(carol->WaitForType("ack"));
    alice.reset();
    bob.reset();
    carol.reset();
    dave.reset();
    broker_->Stop();
  }

  // Starts the broker expecting it to refuse: the error names `reason`, and the folder is unchanged.
  void ExpectRefusedAndUntouched(const std::string& reason) {
    auto before = Snapshot(broker_->data_dir());
    std::string error = broker_->Start();
    EXPECT_NE(error.find(reason), std::string::npos) << error;
    EXPECT_FALSE(broker_->running());
    EXPECT_EQ(Snapshot(broker_->data_dir()), before) << "the refused store was changed";
  }

  std::vector<std::string> message_ids_;
};

TEST_F(StoreSafetyTest, AStoreHeldByAnotherProcessStopsStartUpWithAClearMessage) {
  {
    auto held = storage::RocksDbStore::Open(broker_->data_dir(), core::Durability::kProcessCrash);
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    ExpectRefusedAndUntouched("is in use by another process");
  }
  ASSERT_EQ(broker_->Start(), "") << "once it is free the broker starts on it";
  auto bob = Device("bob", "phone");
  auto history = Request(*bob, "history", {{"peer", "alice"}});
  ASSERT_TRUE(history);
  EXPECT_EQ((*history)["messages"].size(), 2u);
}

TEST_F(StoreSafetyTest, AStoreWithoutItsCurrentFileIsNotReplacedByANewOne) {
  fs::path current = fs::path(broker_->data_dir()) / "CURRENT";
  fs::rename(current, current.string() + ".lost");
  ExpectRefusedAndUntouched("is not empty but holds no store");
  fs::rename(current.string() + ".lost", current);
  ASSERT_EQ(broker_->Start(), "");
  auto bob = Device("bob", "phone");
  EXPECT_EQ((*Request(*bob, "history", {{"peer", "alice"}}))["messages"].size(), 2u) << "nothing was lost";
}

TEST_F(StoreSafetyTest, ADamagedStoreIsRefusedAndLeftAsItWas) {
  std::string manifest;
  {
    std::ifstream in(fs::path(broker_->data_dir()) / "CURRENT");
    std::getline(in, manifest);
  }
  ASSERT_FALSE(manifest.empty());
  {
    std::ofstream out(fs::path(broker_->data_dir()) / manifest, std::ios::binary | std::ios::trunc);
    out << std::string(4096, '\x5a');
  }
  ExpectRefusedAndUntouched("is damaged");
}

TEST_F(StoreSafetyTest, AStoreOfANewerLayoutIsRefused) {
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), broker_->data_dir(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string newer;
    storage::AppendBigEndian64(storage::kFormatVersion + 1, &newer);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), std::string(storage::kFormatVersionKey), newer).ok());
  }
  ExpectRefusedAndUntouched("was written by a newer server");
}

TEST_F(StoreSafetyTest, ADamagedRecordFailsOnlyTheRequestsThatReadIt) {
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), broker_->data_dir(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string key = storage::MessageKey(core::Conversation::Direct("alice", "bob"), std::stoull(message_ids_[0]));
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key, &value).ok()) << "the test must damage a record that exists";
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, std::string("\x02\xff", 2)).ok());
  }
  ASSERT_EQ(broker_->Start(), "");
  auto bob = Device("bob", "phone");
  auto history = Request(*bob, "history", {{"peer", "alice"}});
  ASSERT_TRUE(history);
  EXPECT_EQ(history->value("type", ""), "error") << history->dump();
  EXPECT_EQ(history->value("code", ""), "corruption") << history->dump();
  // Everyone else, and bob's other requests, are served as before.
  auto dave = Device("dave", "phone");
  auto theirs = Request(*dave, "history", {{"peer", "carol"}});
  ASSERT_TRUE(theirs);
  EXPECT_EQ((*theirs)["messages"].size(), 1u) << theirs->dump();
  auto alice = Device("alice", "phone");
  ASSERT_LT(alice->Send("bob", "third", "third"), 0x80);
  auto ack = alice->WaitForType("ack");
  ASSERT_TRUE(ack) << "sending still works";
  auto live = bob->WaitForType("message");
  ASSERT_TRUE(live);
  EXPECT_EQ((*live)["text"], "third");
  auto contacts = Request(*bob, "contacts", json::object());
  ASSERT_TRUE(contacts);
  EXPECT_EQ(contacts->value("type", ""), "contacts");
  // Newer messages than the damaged one are still readable by paging past it.
  auto newest = Request(*bob, "history", {{"peer", "alice"}, {"after", message_ids_[0]}, {"order", "oldest_first"}});
  ASSERT_TRUE(newest);
  EXPECT_EQ(newest->value("type", ""), "history") << newest->dump();
}

}  // namespace
}  // namespace chat::harness
