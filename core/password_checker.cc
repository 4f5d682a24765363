#include "core/password_checker.h"

#include <openssl/crypto.h>

#include "core/password_hasher.h"

namespace chat::core {

ThreadedPasswordChecker::ThreadedPasswordChecker(std::size_t threads, std::size_t max_queued)
    : max_queued_(max_queued) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ThreadedPasswordChecker::~ThreadedPasswordChecker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (PasswordCheck& check : queue_) OPENSSL_cleanse(check.password.data(), check.password.size());
    queue_.clear();
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

bool ThreadedPasswordChecker::Submit(PasswordCheck check) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(check));
  }
  wake_.notify_one();
  return true;
}

std::vector<PasswordCheckOutcome> ThreadedPasswordChecker::TakeOutcomes() {
  std::vector<PasswordCheckOutcome> outcomes;
  std::lock_guard<std::mutex> lock(mutex_);
  outcomes.swap(done_);
  return outcomes;
}

void ThreadedPasswordChecker::Work() {
  while (true) {
    PasswordCheck check;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      check = std::move(queue_.front());
      queue_.pop_front();
    }
    PasswordCheckOutcome outcome{check.ticket, VerifyPassword(check.password, check.hash)};
    OPENSSL_cleanse(check.password.data(), check.password.size());
    std::lock_guard<std::mutex> lock(mutex_);
    done_.push_back(outcome);
  }
}

}  // namespace chat::core
