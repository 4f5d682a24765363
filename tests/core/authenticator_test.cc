#include "core/authenticator.h"

#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "core/password_hasher.h"
#include "core/resume_tokens.h"

#include "core/account_service.h"
#include "storage/rocksdb_store.h"
#include "tests/core/fake_clock.h"
#include "tests/core/temp_dir.h"

namespace chat::core {
namespace {

// Runs the checks the authenticator hands over when the test says so, on the test's thread.
class ManualChecker final : public PasswordChecker {
 public:
  bool Submit(PasswordCheck check) override {
    if (queued_.size() >= capacity) return false;
    ++submitted;
    queued_.push_back(std::move(check));
    return true;
  }
  std::vector<PasswordCheckOutcome> TakeOutcomes() override { return std::exchange(done_, {}); }
  void RunAll() {
    for (PasswordCheck& check : queued_) done_.push_back({check.ticket, VerifyPassword(check.password, check.hash)});
    queued_.clear();
  }
  std::size_t queued() const { return queued_.size(); }
  std::size_t capacity = 1000;
  std::size_t submitted = 0;

 private:
  std::vector<PasswordCheck> queued_;
  std::vector<PasswordCheckOutcome> done_;
};

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*storage::RocksDbStore::Open(dir_.path(), Durability::kProcessCrash));
    settings_.pbkdf2_iterations = 1000;
    settings_.max_failed_logins = 3;
    settings_.failure_window_seconds = 60;
    settings_.throttled_checks_per_second = 1;
    settings_.inline_hash_rounds_per_second = 1e6;
    Rebuild();
    AccountHooks hooks;
    hooks.credentials_changed = [this](const std::string& user, bool) { auth_->Forget(user); };
    accounts_ = std::make_unique<AccountService>(*store_, clock_, settings_, hooks);
    ASSERT_TRUE(accounts_->AddUser("alice", "right", false).ok());
    ASSERT_TRUE(accounts_->AddUser("root1", "admin-pw", true).ok());
  }
  void Rebuild() { auth_ = std::make_unique<Authenticator>(*store_, clock_, settings_, checker_); }
  ErrorCode Login(const char* user, const char* password, const char* address = "10.0.0.1") {
    return auth_->Authenticate(user, password, "phone", address).status().code();
  }

  testing::TempDir dir_;
  FakeClock clock_;
  AuthSettings settings_;
  ManualChecker checker_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<AccountService> accounts_;
};

TEST_F(AuthenticatorTest, KnownUserWithTheRightPasswordIsAdmitted) {
  auto login = auth_->Authenticate("alice", "right", "phone", "10.0.0.1");
  ASSERT_TRUE(login.ok());
  EXPECT_FALSE(login->is_admin);
  EXPECT_TRUE(auth_->Authenticate("root1", "admin-pw", "phone", "10.0.0.1")->is_admin);
  EXPECT_EQ(Login("alice", "right"), ErrorCode::kOk);  // second time from the cache
  EXPECT_EQ(checker_.submitted, 0u);                   // quiet: checked on the spot
}

TEST_F(AuthenticatorTest, WrongPasswordUnknownUserAndBadNamesAreRefused) {
  EXPECT_EQ(Login("alice", "wrong", "10.0.0.1"), ErrorCode::kNotAllowed);
  EXPECT_EQ(Login("nobody", "right", "10.0.0.2"), ErrorCode::kNotAllowed);
  EXPECT_EQ(Login("a/b", "right"), ErrorCode::kNotAllowed);
  EXPECT_EQ(Login("", ""), ErrorCode::kNotAllowed);
  EXPECT_EQ(Login("alice", std::string(1025, 'x').c_str()), ErrorCode::kNotAllowed);
}

TEST_F(AuthenticatorTest, CachedLoginDoesNotAdmitAnotherPassword) {
  ASSERT_EQ(Login("alice", "right"), ErrorCode::kOk);
  EXPECT_EQ(Login("alice", "right2"), ErrorCode::kNotAllowed);
}

TEST_F(AuthenticatorTest, AfterAFailureFirstLoginsAreCheckedOffTheBrokerThread) {
  EXPECT_EQ(Login("alice", "wrong", "10.0.0.1"), ErrorCode::kNotAllowed);  // quiet until now: inline
  // The same address again: the check is handed over and the client told to come again.
  EXPECT_EQ(Login("root1", "admin-pw", "10.0.0.1"), ErrorCode::kTryAgain);
  EXPECT_EQ(Login("root1", "admin-pw", "10.0.0.1"), ErrorCode::kTryAgain);  // one check per attempt pair
  EXPECT_EQ(checker_.submitted, 1u);
  checker_.RunAll();
  EXPECT_EQ(Login("root1", "admin-pw", "10.0.0.1"), ErrorCode::kOk);
  // The same wrong password again is refused from memory, with no check.
  EXPECT_EQ(Login("alice", "wrong", "10.0.0.1"), ErrorCode::kNotAllowed);
  EXPECT_EQ(checker_.submitted, 1u);
}

TEST_F(AuthenticatorTest, AnUnknownNameIsAnsweredExactlyLikeAWrongPassword) {
  EXPECT_EQ(Login("alice", "wrong-0", "10.0.0.9"), ErrorCode::kNotAllowed);  // makes the address suspect
  std::vector<ErrorCode> unknown;
  std::vector<ErrorCode> wrong;
  for (int i = 0; i < 2; ++i) {
    unknown.push_back(Login("ghost", "pw", "10.0.0.9"));
    wrong.push_back(Login("alice", "wrong-1", "10.0.0.9"));
    checker_.RunAll();
  }
  EXPECT_EQ(unknown, (std::vector<ErrorCode>{ErrorCode::kTryAgain, ErrorCode::kNotAllowed}));
  EXPECT_EQ(unknown, wrong);
  EXPECT_EQ(checker_.submitted, 2u);  // the unknown name was hashed too (against a dummy)
}

TEST_F(AuthenticatorTest, GuessingIsThrottledPerAddressButTheRightPasswordStillGetsIn) {
  const char* guesser = "10.6.6.6";
  int checks_started = 0;
  for (int i = 0; i < 20; ++i) {
    std::size_t before = checker_.submitted;
    ErrorCode code = Login("alice", ("guess-" + std::to_string(i)).c_str(), guesser);
    EXPECT_NE(code, ErrorCode::kOk);
    checks_started += checker_.submitted > before || code == ErrorCode::kNotAllowed;
    checker_.RunAll();
  }
  // 3 failures make the address throttled: from then on one check per second at most.
  EXPECT_LE(checks_started, 4);
  // The owner, from elsewhere, is not locked out: a check of their own, then in.
  EXPECT_EQ(Login("alice", "right", "192.168.1.5"), ErrorCode::kTryAgain);
  checker_.RunAll();
  EXPECT_EQ(Login("alice", "right", "192.168.1.5"), ErrorCode::kOk);
  // Even from the guesser's address the right password gets in once it is that address's turn.
  ASSERT_TRUE(accounts_->SetPassword("root1", "admin-pw").ok());
  clock_.Advance(1000);
  EXPECT_EQ(Login("root1", "admin-pw", guesser), ErrorCode::kTryAgain);
  checker_.RunAll();
  EXPECT_EQ(Login("root1", "admin-pw", guesser), ErrorCode::kOk);
}

TEST_F(AuthenticatorTest, ABusyAddressHasFewChecksWaitingAndTheQueueIsBounded) {
  settings_.inline_hash_rounds_per_second = 0;
  Rebuild();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Login("alice", ("w" + std::to_string(i)).c_str(), "10.0.0.1"), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 8u);  // at most 8 waiting per address
  checker_.capacity = 8;  // the hash threads' queue is full
  EXPECT_EQ(Login("root1", "admin-pw", "10.0.0.2"), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 8u);
}

TEST_F(AuthenticatorTest, FirstLoginsBeyondTheInlineBudgetGoToTheHashThreads) {
  settings_.inline_hash_rounds_per_second = 1000;  // one login's worth per second
  Rebuild();
  EXPECT_EQ(Login("alice", "right"), ErrorCode::kOk);
  EXPECT_EQ(Login("root1", "admin-pw"), ErrorCode::kTryAgain);
  checker_.RunAll();
  EXPECT_EQ(Login("root1", "admin-pw"), ErrorCode::kOk);
  settings_.inline_hash_rounds_per_second = 0;  // never on the broker thread
  Rebuild();
  EXPECT_EQ(Login("alice", "right"), ErrorCode::kTryAgain);
}

TEST_F(AuthenticatorTest, PasswordChangeAndDeletionTakeEffectAtOnce) {
  ASSERT_EQ(Login("alice", "right"), ErrorCode::kOk);
  ASSERT_TRUE(accounts_->SetPassword("alice", "new").ok());
  EXPECT_EQ(Login("alice", "right"), ErrorCode::kNotAllowed);
  EXPECT_EQ(Login("alice", "new", "10.0.0.2"), ErrorCode::kTryAgain);  // a failure from .1 was just seen
  ASSERT_TRUE(accounts_->SetPassword("alice", "newer").ok());  // while that check is in flight
  checker_.RunAll();
  EXPECT_EQ(Login("alice", "new", "10.0.0.2"), ErrorCode::kTryAgain);  // its outcome was dropped
  ASSERT_TRUE(accounts_->DeleteUser("alice").ok());  // while the next one is in flight
  checker_.RunAll();
  EXPECT_EQ(Login("alice", "newer", "10.0.0.2"), ErrorCode::kTryAgain);
  checker_.RunAll();
  EXPECT_EQ(Login("alice", "newer", "10.0.0.2"), ErrorCode::kNotAllowed);
}

// Failures before throttling, exactly: max_failed_logins - 1 leave an address's checks as they were,
// the max_failed_logins-th makes it one check a second.
TEST_F(AuthenticatorTest, AnAddressIsThrottledAtExactlyMaxFailedLogins) {
  settings_.inline_hash_rounds_per_second = 0;  // every check queued, so the test sees each one
  Rebuild();
  const char* guesser = "10.6.6.6";
  auto fail = [&](const std::string& name) {
    ASSERT_EQ(Login(name.c_str(), "wrong", guesser), ErrorCode::kTryAgain);
    checker_.RunAll();
    ASSERT_EQ(Login(name.c_str(), "wrong", guesser), ErrorCode::kNotAllowed);
  };
  for (std::uint32_t i = 0; i + 1 < settings_.max_failed_logins; ++i) fail("nobody" + std::to_string(i));
  // One failure short: two new guesses at once are both checked.
  EXPECT_EQ(Login("x1", "wrong", guesser), ErrorCode::kTryAgain);
  EXPECT_EQ(Login("x2", "wrong", guesser), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 2u);
  checker_.RunAll();
  Login("x1", "wrong", guesser);
  Login("x2", "wrong", guesser);
  // Now past the limit: one check a second.
  clock_.Advance(1000);
  EXPECT_EQ(Login("y1", "wrong", guesser), ErrorCode::kTryAgain);
  EXPECT_EQ(Login("y2", "wrong", guesser), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 1u);
  // Another address is untouched.
  EXPECT_EQ(Login("y3", "wrong", "10.0.0.9"), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 2u);
}

TEST_F(AuthenticatorTest, AnAccountIsThrottledPerAddressAtExactlyMaxFailedLogins) {
  settings_.inline_hash_rounds_per_second = 0;
  Rebuild();
  // Failures on alice from as many addresses, none of them throttled itself.
  auto fail_from = [&](const std::string& address) {
    ASSERT_EQ(Login("alice", ("w-" + address).c_str(), address.c_str()), ErrorCode::kTryAgain);
    checker_.RunAll();
    ASSERT_EQ(Login("alice", ("w-" + address).c_str(), address.c_str()), ErrorCode::kNotAllowed);
  };
  for (std::uint32_t i = 0; i + 1 < settings_.max_failed_logins; ++i) fail_from("10.1.0." + std::to_string(i));
  EXPECT_EQ(Login("alice", "a", "10.2.0.1"), ErrorCode::kTryAgain);
  EXPECT_EQ(Login("alice", "b", "10.2.0.1"), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 2u) << "one failure short: not throttled";
  checker_.RunAll();
  clock_.Advance(1000);
  EXPECT_EQ(Login("alice", "c", "10.2.0.2"), ErrorCode::kTryAgain);
  EXPECT_EQ(Login("alice", "d", "10.2.0.2"), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 1u) << "throttled: one check a second from each address";
  EXPECT_EQ(Login("alice", "right", "192.168.1.5"), ErrorCode::kTryAgain);
  EXPECT_EQ(checker_.queued(), 2u) << "the owner's address has its own turn";
  checker_.RunAll();
  EXPECT_EQ(Login("alice", "right", "192.168.1.5"), ErrorCode::kOk);
}

class ResumeTokenLoginTest : public AuthenticatorTest {
 protected:
  // Issues `device` of `user` a token, as the resume_token request does.
  std::string Issue(const std::string& user, const std::string& device) {
    Result<NewResumeToken> made = MakeResumeToken(user, device, clock_.NowMillis());
    EXPECT_TRUE(made.ok());
    WriteSet writes;
    writes.resume_tokens.push_back({user, made->record});
    EXPECT_TRUE(store_->Apply(writes).ok());
    return made->token;
  }
  ErrorCode LoginWith(const std::string& token, const char* device = "phone", const char* address = "10.0.0.1") {
    return auth_->Authenticate("alice", token, device, address).status().code();
  }
};

TEST_F(ResumeTokenLoginTest, ATokenLogsItsDeviceInWithoutHashing) {
  settings_.inline_hash_rounds_per_second = 0;
  Rebuild();
  std::string token = Issue("alice", "phone");
  EXPECT_TRUE(LooksLikeResumeToken(token));
  EXPECT_EQ(LoginWith(token), ErrorCode::kOk);
  EXPECT_EQ(checker_.submitted, 0u) << "no password check at all";
  EXPECT_EQ(LoginWith(token, "laptop"), ErrorCode::kNotAllowed) << "bound to its device";
  EXPECT_EQ(auth_->Authenticate("root1", token, "phone", "10.0.0.1").status().code(), ErrorCode::kNotAllowed)
      << "and to its user";
  std::string wrong = token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(LoginWith(wrong), ErrorCode::kNotAllowed);
  EXPECT_EQ(checker_.submitted, 0u) << "a wrong token is not hashed as a password either";
}

TEST_F(ResumeTokenLoginTest, ATokenExpiresAfterItsDays) {
  std::string token = Issue("alice", "phone");
  clock_.now_ms += static_cast<std::int64_t>(settings_.resume_token_days) * 86400000 - 1;
  EXPECT_EQ(LoginWith(token), ErrorCode::kOk);
  clock_.now_ms += 1;
  EXPECT_EQ(LoginWith(token), ErrorCode::kNotAllowed);
  // A record issued "in the future" (damaged, or a clock set back) is not trusted, and a time so large
  // that its expiry would overflow is handled.
  Result<NewResumeToken> made = MakeResumeToken("alice", "phone", clock_.NowMillis());
  ASSERT_TRUE(made.ok());
  for (std::int64_t issued : {clock_.NowMillis() + 1, std::numeric_limits<std::int64_t>::max()}) {
    made->record.issued_at_ms = issued;
    EXPECT_FALSE(MatchesResumeToken(made->record, "alice", made->token, clock_.NowMillis(), 30));
  }
}

TEST_F(ResumeTokenLoginTest, TheVictimOfAGuessingFloodStillGetsInWithItsToken) {
  settings_.inline_hash_rounds_per_second = 0;
  Rebuild();
  std::string token = Issue("alice", "phone");
  const char* guesser = "10.6.6.6";
  for (int i = 0; i < 50; ++i) {
    Login("alice", ("guess-" + std::to_string(i)).c_str(), guesser);
    checker_.RunAll();
  }
  EXPECT_EQ(LoginWith(token, "phone", guesser), ErrorCode::kOk) << "even from the guesser's own address";
  EXPECT_EQ(LoginWith(token, "phone", "192.168.1.5"), ErrorCode::kOk);
}

TEST_F(ResumeTokenLoginTest, APasswordChangeOrARevocationEndsEveryToken) {
  std::string phone = Issue("alice", "phone");
  std::string laptop = Issue("alice", "laptop");
  ASSERT_TRUE(accounts_->SetPassword("alice", "new").ok());
  EXPECT_EQ(LoginWith(phone), ErrorCode::kNotAllowed);
  EXPECT_EQ(LoginWith(laptop, "laptop"), ErrorCode::kNotAllowed);
  phone = Issue("alice", "phone");
  EXPECT_EQ(LoginWith(phone), ErrorCode::kOk);
  ASSERT_TRUE(accounts_->RevokeResumeTokens("alice").ok());
  EXPECT_EQ(LoginWith(phone), ErrorCode::kNotAllowed);
  EXPECT_EQ(accounts_->RevokeResumeTokens("ghost").code(), ErrorCode::kNotFound);
  settings_.resume_token_days = 0;  // a server that issues none accepts none
  Rebuild();
  phone = Issue("alice", "phone");
  EXPECT_EQ(LoginWith(phone), ErrorCode::kNotAllowed);
}

TEST_F(ResumeTokenLoginTest, NoPasswordMayLookLikeAToken) {
  std::string token_shaped = std::string(kResumeTokenPrefix) + std::string(64, 'a');
  EXPECT_EQ(accounts_->AddUser("zed", token_shaped, false).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(accounts_->SetPassword("alice", token_shaped).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(accounts_->AddUser("zed", token_shaped + "b", false).ok()) << "only the exact form is refused";
  EXPECT_FALSE(LooksLikeResumeToken(std::string(kResumeTokenPrefix) + std::string(64, 'A')));
  EXPECT_FALSE(LooksLikeResumeToken(std::string(kResumeTokenPrefix) + std::string(63, 'a')));
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
