// Authenticator: decides MQTT logins (username + password) against the account store.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/rate_limiter.h"
#include "core/settings.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

// PBKDF2 at a production iteration count costs tens of milliseconds, and logins run on the broker's
// only thread. So a verified (user, password) pair is remembered as a keyed SHA-256 digest (the key is
// random per process and never leaves memory), and a reconnect costs microseconds. Repeated failures
// for one user lock that user's password checks for a while, so a guessing client cannot make the
// broker spend its time hashing. Not thread-safe; borrows `store` and `clock`.
class Authenticator {
 public:
  Authenticator(Store& store, const Clock& clock, const AuthSettings& settings);

  struct Login {
    bool is_admin = false;
  };
  // Ok (with the account's role) for a known user with the right password; kNotAllowed otherwise,
  // kIoError if the store failed. The message never says which part was wrong.
  Result<Login> Authenticate(std::string_view user_id, std::string_view password);

  // Forget cached credentials of `user_id` (after a password change or deletion).
  void Forget(const std::string& user_id);

 private:
  using Digest = std::array<unsigned char, 32>;
  struct CachedLogin {
    Digest digest;
    bool is_admin;
  };
  struct Failures {
    std::uint32_t count = 0;
    std::int64_t window_start_ms = 0;
  };

  Digest CacheDigest(std::string_view user_id, std::string_view password) const;
  bool IsLockedOut(const std::string& user_id);
  void RecordFailure(const std::string& user_id);

  Store& store_;
  const Clock& clock_;
  AuthSettings settings_;
  std::array<unsigned char, 32> cache_key_;
  std::unordered_map<std::string, CachedLogin> cache_;
  std::unordered_map<std::string, Failures> failures_;
  RateLimiter hashing_budget_;
};

}  // namespace chat::core
