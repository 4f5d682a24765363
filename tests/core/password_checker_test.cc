#include "core/password_checker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "core/password_hasher.h"

namespace chat::core {
namespace {

std::map<std::uint64_t, bool> WaitForOutcomes(PasswordChecker& checker, std::size_t count) {
  std::map<std::uint64_t, bool> outcomes;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (outcomes.size() < count && std::chrono::steady_clock::now() < deadline) {
    for (const PasswordCheckOutcome& o : checker.TakeOutcomes()) outcomes[o.ticket] = o.match;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return outcomes;
}

TEST(ThreadedPasswordCheckerTest, ChecksOffTheCallersThreadAndReportsEachOutcome) {
  PasswordHash hash = *HashPassword("secret", 1000);
  ThreadedPasswordChecker checker(2, 100);
  for (std::uint64_t ticket = 1; ticket <= 10; ++ticket) {
    ASSERT_TRUE(checker.Submit({ticket, ticket % 2 ? "secret" : "guess", hash}));
  }
  auto outcomes = WaitForOutcomes(checker, 10);
  ASSERT_EQ(outcomes.size(), 10u);
  for (const auto& [ticket, match] : outcomes) EXPECT_EQ(match, ticket % 2 == 1) << ticket;
  EXPECT_TRUE(checker.TakeOutcomes().empty());
}

TEST(ThreadedPasswordCheckerTest, TheQueueIsBoundedAndShutdownDropsIt) {
  PasswordHash slow = *HashPassword("secret", 2000000);  // long enough to keep the one thread busy
  auto checker = std::make_unique<ThreadedPasswordChecker>(1, 2);
  std::size_t accepted = 0;
  for (std::uint64_t ticket = 1; ticket <= 10; ++ticket) accepted += checker->Submit({ticket, "guess", slow});
  EXPECT_LE(accepted, 3u);  // one in hand, two waiting
  EXPECT_GE(accepted, 2u);
  checker.reset();  // finishes the check in hand, drops the rest, joins: returns
}

}  // namespace
}  // namespace chat::core
