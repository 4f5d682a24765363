// AccountService on the real RocksDB store in a temporary folder: adding (validation, duplicates, the
// history floor), changing passwords, deleting with its hooks in order, and listing. (authenticator_test.cc
// has the plain TEST suite AccountServiceTest.)
#include "core/account_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/password_hasher.h"
#include "storage/rocksdb_store.h"
#include "tests/core/fake_clock.h"
#include "tests/core/temp_dir.h"

namespace chat::core {
namespace {

class AccountServiceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::RocksDbStore::Open(dir_.path(), Durability::kProcessCrash);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auth_.pbkdf2_iterations = 1000;
    AccountHooks hooks;
    hooks.erase_data = [this](const std::string& user) {
      // The account still exists while its data is erased.
      calls_.push_back("erase " + user + (store_->UserExists(user).ok() ? " (exists)" : " (gone)"));
      return erase_result_;
    };
    hooks.credentials_changed = [this](const std::string& user, bool deleted) {
      calls_.push_back(std::string(deleted ? "deleted " : "password ") + user +
                       (store_->UserExists(user).ok() ? " (exists)" : " (gone)"));
    };
    accounts_ = std::make_unique<AccountService>(*store_, clock_, auth_, std::move(hooks));
  }

  UserRecord Get(const std::string& user) {
    Result<UserRecord> record = store_->GetUser(user);
    EXPECT_TRUE(record.ok()) << user << ": " << record.status().ToString();
    return record.ok() ? *record : UserRecord{};
  }

  chat::testing::TempDir dir_;
  FakeClock clock_;
  AuthSettings auth_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AccountService> accounts_;
  std::vector<std::string> calls_;
  Status erase_result_ = Status::Ok();
};

TEST_F(AccountServiceStoreTest, AddUserStoresASaltedHashTheClockAndTheAdminFlag) {
  ASSERT_TRUE(accounts_->AddUser("alice", "alice-pw", false).ok());
  clock_.Advance(5000);
  ASSERT_TRUE(accounts_->AddUser("root", "root-pw", true).ok());
  UserRecord alice = Get("alice");
  UserRecord root = Get("root");
  EXPECT_EQ(alice.user_id, "alice");
  EXPECT_FALSE(alice.is_admin);
  EXPECT_TRUE(root.is_admin);
  EXPECT_EQ(alice.created_at_ms, 1795000000000);
  EXPECT_EQ(root.created_at_ms, 1795000005000);
  EXPECT_EQ(alice.password.iterations, 1000u);
  EXPECT_TRUE(VerifyPassword("alice-pw", alice.password));
  EXPECT_FALSE(VerifyPassword("root-pw", alice.password));
  EXPECT_NE(alice.password.salt, root.password.salt);
  EXPECT_TRUE(calls_.empty());  // adding tells nobody
}

TEST_F(AccountServiceStoreTest, AddUserRefusesBadNamesAndPasswords) {
  for (const char* bad : {"", "a:b", "with space", "#", "+", "a/b"}) {
    EXPECT_EQ(accounts_->AddUser(bad, "pw", false).code(), ErrorCode::kInvalidArgument) << "'" << bad << "'";
  }
  EXPECT_EQ(accounts_->AddUser("alice", "", false).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(accounts_->AddUser("alice", std::string(kMaxPasswordBytes + 1, 'p'), false).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->UserExists("alice").code(), ErrorCode::kNotFound);
  ASSERT_TRUE(accounts_->AddUser("alice", std::string(kMaxPasswordBytes, 'p'), false).ok());
  EXPECT_TRUE(VerifyPassword(std::string(kMaxPasswordBytes, 'p'), Get("alice").password));
}

TEST_F(AccountServiceStoreTest, AddUserRefusesAnExistingNameAndKeepsItsPassword) {
  ASSERT_TRUE(accounts_->AddUser("alice", "first", false).ok());
  Status again = accounts_->AddUser("alice", "second", true);
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "user alice exists");
  UserRecord alice = Get("alice");
  EXPECT_TRUE(VerifyPassword("first", alice.password));
  EXPECT_FALSE(alice.is_admin);
}

TEST_F(AccountServiceStoreTest, ANewAccountsHistoryFloorIsTheLargestMessageIdSoFar) {
  ASSERT_TRUE(accounts_->AddUser("alice", "pw", false).ok());
  EXPECT_EQ(Get("alice").history_floor, 0u);
  WriteSet writes;
  StoredMessage message;
  message.id = 384000000000000042ULL;
  message.from = "alice";
  message.to = "alice";
  message.text = "note";
  writes.messages.push_back(message);
  writes.id_floor = message.id;  // as the core states it for every id it takes
  ASSERT_TRUE(store_->Apply(writes).ok());
  ASSERT_TRUE(accounts_->AddUser("bob", "pw", false).ok());
  EXPECT_EQ(Get("bob").history_floor, 384000000000000042ULL);
  EXPECT_EQ(Get("alice").history_floor, 0u);  // unchanged
}

TEST_F(AccountServiceStoreTest, SetPasswordReplacesTheHashAndTellsTheHook) {
  ASSERT_TRUE(accounts_->AddUser("alice", "old-pw", true).ok());
  UserRecord before = Get("alice");
  auth_.pbkdf2_iterations = 2000;  // the service borrows the settings: a reloaded config applies at once
  ASSERT_TRUE(accounts_->SetPassword("alice", "new-pw").ok());
  UserRecord after = Get("alice");
  EXPECT_TRUE(VerifyPassword("new-pw", after.password));
  EXPECT_FALSE(VerifyPassword("old-pw", after.password));
  EXPECT_EQ(after.password.iterations, 2000u);
  EXPECT_NE(after.password.salt, before.password.salt);
  EXPECT_TRUE(after.is_admin);
  EXPECT_EQ(after.created_at_ms, before.created_at_ms);
  EXPECT_EQ(calls_, (std::vector<std::string>{"password alice (exists)"}));
}

TEST_F(AccountServiceStoreTest, SetPasswordOfAnUnknownUserOrToNothingChangesNothing) {
  EXPECT_EQ(accounts_->SetPassword("ghost", "pw").code(), ErrorCode::kNotFound);
  ASSERT_TRUE(accounts_->AddUser("alice", "pw", false).ok());
  EXPECT_EQ(accounts_->SetPassword("alice", "").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(accounts_->SetPassword("alice", std::string(kMaxPasswordBytes + 1, 'x')).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(VerifyPassword("pw", Get("alice").password));
  EXPECT_TRUE(calls_.empty());
}

TEST_F(AccountServiceStoreTest, DeleteUserErasesDataFirstThenTheRecordThenTellsTheHook) {
  ASSERT_TRUE(accounts_->AddUser("alice", "pw", false).ok());
  ASSERT_TRUE(accounts_->DeleteUser("alice").ok());
  EXPECT_EQ(calls_, (std::vector<std::string>{"erase alice (exists)", "deleted alice (gone)"}));
  EXPECT_EQ(store_->UserExists("alice").code(), ErrorCode::kNotFound);
  // The name can be taken again.
  EXPECT_TRUE(accounts_->AddUser("alice", "pw2", false).ok());
}

TEST_F(AccountServiceStoreTest, DeleteUserKeepsTheAccountWhenErasingFails) {
  ASSERT_TRUE(accounts_->AddUser("alice", "pw", false).ok());
  erase_result_ = Status::Error(ErrorCode::kIoError, "disk full");
  Status s = accounts_->DeleteUser("alice");
  EXPECT_EQ(s.code(), ErrorCode::kIoError);
  EXPECT_EQ(s.message(), "disk full");
  EXPECT_TRUE(store_->UserExists("alice").ok());
  EXPECT_EQ(calls_, (std::vector<std::string>{"erase alice (exists)"}));
  // Deleting again finishes the job.
  erase_result_ = Status::Ok();
  ASSERT_TRUE(accounts_->DeleteUser("alice").ok());
  EXPECT_EQ(store_->UserExists("alice").code(), ErrorCode::kNotFound);
}

TEST_F(AccountServiceStoreTest, DeleteUnknownUserIsNotFoundAndCallsNoHook) {
  EXPECT_EQ(accounts_->DeleteUser("ghost").code(), ErrorCode::kNotFound);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(AccountServiceStoreTest, ServiceWithoutHooksStillDeletes) {
  AccountService plain(*store_, clock_, auth_);
  ASSERT_TRUE(plain.AddUser("alice", "pw", false).ok());
  ASSERT_TRUE(plain.SetPassword("alice", "pw2").ok());
  ASSERT_TRUE(plain.DeleteUser("alice").ok());
  EXPECT_EQ(store_->UserExists("alice").code(), ErrorCode::kNotFound);
}

TEST_F(AccountServiceStoreTest, ListUsersPagesInOrderWithoutPasswords) {
  for (const char* user : {"dave", "alice", "carol", "bob", "erin"}) ASSERT_TRUE(accounts_->AddUser(user, "pw", false).ok());
  auto names = [](const std::vector<UserRecord>& users) {
    std::vector<std::string> out;
    for (const UserRecord& u : users) out.push_back(u.user_id);
    return out;
  };
  auto first = accounts_->ListUsers("", 2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(names(*first), (std::vector<std::string>{"alice", "bob"}));
  auto next = accounts_->ListUsers("bob", 10);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(names(*next), (std::vector<std::string>{"carol", "dave", "erin"}));
  for (const UserRecord& u : *next) {
    EXPECT_EQ(u.password.iterations, 0u);
    EXPECT_TRUE(u.password.salt.empty());
    EXPECT_TRUE(u.password.digest.empty());
    EXPECT_EQ(u.created_at_ms, 1795000000000);
  }
  auto none = accounts_->ListUsers("erin", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace chat::core
