// PasswordChecker: PBKDF2 verifications run off the broker thread. A check is one password against one
// stored hash; the broker thread submits checks and later collects their outcomes, never waiting.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/records.h"

namespace chat::core {

struct PasswordCheck {
  std::uint64_t ticket = 0;  // the submitter's name for this check, returned with its outcome
  std::string password;      // wiped once checked
  PasswordHash hash;
};

struct PasswordCheckOutcome {
  std::uint64_t ticket = 0;
  bool match = false;
};

class PasswordChecker {
 public:
  virtual ~PasswordChecker() = default;
  // Queues `check`; false (and nothing queued) when `max_queued` checks wait already.
  virtual bool Submit(PasswordCheck check) = 0;
  // The checks finished since the last call, in no particular order. Never blocks.
  virtual std::vector<PasswordCheckOutcome> TakeOutcomes() = 0;
};

// Checks on `threads` worker threads of its own; they only hash (no broker or store calls). Thread-safe.
class ThreadedPasswordChecker final : public PasswordChecker {
 public:
  ThreadedPasswordChecker(std::size_t threads, std::size_t max_queued);
  ~ThreadedPasswordChecker() override;  // finishes the check in hand, drops the queue, joins
  bool Submit(PasswordCheck check) override;
  std::vector<PasswordCheckOutcome> TakeOutcomes() override;

 private:
  void Work();

  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PasswordCheck> queue_;
  std::vector<PasswordCheckOutcome> done_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chat::core
