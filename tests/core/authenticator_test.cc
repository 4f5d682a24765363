#include "core/authenticator.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/account_service.h"
#include "storage/rocksdb_store.h"
#include "tests/core/fake_clock.h"
#include "tests/core/temp_dir.h"

namespace chat::core {
namespace {

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*storage::RocksDbStore::Open(dir_.path(), Durability::kProcessCrash));
    settings_.pbkdf2_iterations = 1000;
    settings_.max_failed_logins = 3;
    settings_.lockout_seconds = 60;
    auth_ = std::make_unique<Authenticator>(*store_, clock_, settings_);
    accounts_ = std::make_unique<AccountService>(*store_, clock_, settings_,
                                                 [this](const std::string& user) { auth_->Forget(user); });
    ASSERT_TRUE(accounts_->AddUser("alice", "right", false).ok());
    ASSERT_TRUE(accounts_->AddUser("root1", "admin-pw", true).ok());
  }

  testing::TempDir dir_;
  FakeClock clock_;
  AuthSettings settings_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<AccountService> accounts_;
};

TEST_F(AuthenticatorTest, KnownUserWithTheRightPasswordIsAdmitted) {
  auto login = auth_->Authenticate("alice", "right");
  ASSERT_TRUE(login.ok());
  EXPECT_FALSE(login->is_admin);
  EXPECT_TRUE(auth_->Authenticate("root1", "admin-pw")->is_admin);
  EXPECT_TRUE(auth_->Authenticate("alice", "right").ok());  // second time from the cache
}

TEST_F(AuthenticatorTest, WrongPasswordUnknownUserAndBadNamesAreRefused) {
  EXPECT_EQ(auth_->Authenticate("alice", "wrong").status().code(), ErrorCode::kNotAllowed);
  EXPECT_EQ(auth_->Authenticate("alice", "").status().code(), ErrorCode::kNotAllowed);
  EXPECT_EQ(auth_->Authenticate("nobody", "right").status().code(), ErrorCode::kNotAllowed);
  EXPECT_EQ(auth_->Authenticate("a/b", "right").status().code(), ErrorCode::kNotAllowed);
  EXPECT_EQ(auth_->Authenticate("", "").status().code(), ErrorCode::kNotAllowed);
}

TEST_F(AuthenticatorTest, CachedLoginDoesNotAdmitAnotherPassword) {
  ASSERT_TRUE(auth_->Authenticate("alice", "right").ok());
  EXPECT_FALSE(auth_->Authenticate("alice", "right2").ok());
}

TEST_F(AuthenticatorTest, RepeatedFailuresLockTheAccountForAWhile) {
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(auth_->Authenticate("alice", "guess").ok());
  EXPECT_FALSE(auth_->Authenticate("alice", "right").ok());  // locked out, even with the right password
  clock_.Advance(60 * 1000);
  EXPECT_TRUE(auth_->Authenticate("alice", "right").ok());
}

TEST_F(AuthenticatorTest, UncachedLoginsBeyondTheHashingBudgetAreRefusedUnchecked) {
  settings_.max_hash_rounds_per_second = 1000;  // one login's worth per second, bursts of two
  auth_ = std::make_unique<Authenticator>(*store_, clock_, settings_);
  EXPECT_TRUE(auth_->Authenticate("alice", "right").ok());
  EXPECT_TRUE(auth_->Authenticate("root1", "admin-pw").ok());
  auth_ = std::make_unique<Authenticator>(*store_, clock_, settings_);
  EXPECT_TRUE(auth_->Authenticate("alice", "right").ok());
  EXPECT_TRUE(auth_->Authenticate("root1", "admin-pw").ok());
  EXPECT_FALSE(auth_->Authenticate("alice", "wrong").ok());  // out of budget: no hashing at all
  EXPECT_TRUE(auth_->Authenticate("alice", "right").ok());    // cached logins need no budget
  clock_.Advance(1000);
  EXPECT_FALSE(auth_->Authenticate("root1", "wrong").ok());
  EXPECT_TRUE(auth_->Authenticate("root1", "admin-pw").ok());  // not locked out by the refusal above
}

TEST_F(AuthenticatorTest, PasswordChangeAndDeletionTakeEffectAtOnce) {
  ASSERT_TRUE(auth_->Authenticate("alice", "right").ok());
  ASSERT_TRUE(accounts_->SetPassword("alice", "new").ok());
  EXPECT_FALSE(auth_->Authenticate("alice", "right").ok());
  EXPECT_TRUE(auth_->Authenticate("alice", "new").ok());
  ASSERT_TRUE(accounts_->DeleteUser("alice").ok());
  EXPECT_FALSE(auth_->Authenticate("alice", "new").ok());
}

TEST(AccountServiceTest, RejectsBadNamesDuplicatesAndEmptyPasswords) {
  testing::TempDir dir;
  auto store = std::move(*storage::RocksDbStore::Open(dir.path(), Durability::kProcessCrash));
  FakeClock clock;
  AuthSettings settings;
  settings.pbkdf2_iterations = 1000;
  AccountService accounts(*store, clock, settings);
  EXPECT_TRUE(accounts.AddUser("alice", "pw", false).ok());
  EXPECT_EQ(accounts.AddUser("alice", "pw", false).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(accounts.AddUser("a+b", "pw", false).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(accounts.AddUser("bob", "", false).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(accounts.AddUser("bob", std::string(1025, 'x'), false).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(accounts.SetPassword("ghost", "pw").code(), ErrorCode::kNotFound);
  EXPECT_EQ(accounts.DeleteUser("ghost").code(), ErrorCode::kNotFound);
  auto users = accounts.ListUsers("", 10);
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_TRUE((*users)[0].password.digest.empty());
}

}  // namespace
}  // namespace chat::core
