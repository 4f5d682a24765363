// Authenticator: decides MQTT logins (username + password) against the account store.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/password_checker.h"
#include "core/rate_limiter.h"
#include "core/settings.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

// PBKDF2 at a production iteration count costs tens of milliseconds, and logins run on the broker's only
// thread, where Mosquitto 2.0 must have the answer at once. So:
// - a verified (user, password) pair is remembered as a keyed SHA-256 digest (the key is random per
//   process and never leaves memory): a reconnect costs microseconds, and is never throttled;
// - a first login is hashed on the broker thread only while nobody is failing to log in, within a small
//   budget; otherwise the password goes to the hash threads and the client is told to come again
//   (kTryAgain: the adapter closes the connection without a CONNACK, which MQTT clients retry), and the
//   next attempt finds the outcome;
// - failures are counted per account and per source address; past max_failed_logins, that address or
//   (account, address) pair gets throttled_checks_per_second checks, and an address may have few checks
//   waiting, so a guessing client can neither keep a thread hashing for others nor lock anyone out;
// - an unknown name is checked against a dummy hash, so it is answered exactly like a wrong password;
// - a device's resume token (core/resume_tokens.h) is checked at once, in microseconds, whatever the
//   throttling: a node restart costs no hashing, and a guessing flood against an account does not keep
//   its owner's devices out.
// Not thread-safe (broker thread only); borrows `store`, `clock` and `checker`.
class Authenticator {
 public:
  Authenticator(Store& store, const Clock& clock, const AuthSettings& settings, PasswordChecker& checker);
  // New login settings (a reloaded config): throttling, the inline hashing budget and token lifetime
  // apply at once; the credential cache and the check queue keep the sizes they started with.
  void ApplySettings(const AuthSettings& settings);

  struct Login {
    bool is_admin = false;
    MessageId history_floor = 0;  // see UserRecord::history_floor
  };
  // Ok (with the account's role) for a known user with the right password, or the device's resume
  // token as password; kNotAllowed for a wrong name, password or token (the message never says which);
  // kTryAgain while a password check is pending or throttled; kIoError if the store failed.
  // `device_id` is the device the client id names; `address` is the client's source address.
  Result<Login> Authenticate(std::string_view user_id, std::string_view password, std::string_view device_id,
                             std::string_view address);

  // Forget cached credentials and checks in flight of `user_id` (after a password change or deletion).
  void Forget(const std::string& user_id);

 private:
  using Digest = std::array<unsigned char, 32>;
  struct CachedLogin {
    Digest digest;
    Login login;
  };
  struct Pending {
    std::string user_id;
    std::string address;
    std::uint64_t epoch = 0;
    bool exists = false;  // false: checked against the dummy hash, so it fails
    Login login;
  };
  struct Refusal {
    std::int64_t expires_ms = 0;
    std::uint64_t epoch = 0;
  };
  // Failures per key in a window of failure_window_seconds.
  class FailureCounts {
   public:
    std::uint32_t Count(const std::string& key, std::int64_t now, std::int64_t window_ms);
    void Add(const std::string& key, std::int64_t now, std::int64_t window_ms);
    void Erase(const std::string& key) { counts_.erase(key); }

   private:
    struct Window {
      std::uint32_t count = 0;
      std::int64_t start_ms = 0;
    };
    std::unordered_map<std::string, Window> counts_;
  };

  Digest CacheDigest(std::string_view user_id, std::string_view password) const;
  Result<Login> AuthenticateToken(const std::string& user_id, std::string_view device_id, std::string_view token);
  static std::string Key(const Digest& digest) { return std::string(digest.begin(), digest.end()); }
  std::uint64_t Epoch(const std::string& user_id) const;
  // Applies the outcomes of finished background checks.
  void CollectOutcomes();
  void Remember(const std::string& user_id, const Digest& digest, const Login& login);
  void RecordFailure(const std::string& user_id, const std::string& address, const Digest& digest);
  // Whether this check may run on the broker thread now (and takes its budget if so).
  bool MayCheckInline(const std::string& user_id, const std::string& address, std::uint32_t iterations);
  // Queues a background check, if the address, the account and the queue allow one now.
  void Enqueue(const std::string& user_id, const std::string& address, std::string_view password,
               const PasswordHash& hash, bool exists, const Login& login, const Digest& digest);

  Store& store_;
  const Clock& clock_;
  AuthSettings settings_;
  PasswordChecker& checker_;
  std::int64_t window_ms_;
  std::array<unsigned char, 32> cache_key_;
  PasswordHash dummy_hash_;
  std::unordered_map<std::string, CachedLogin> cache_;
  std::unordered_map<std::string, Refusal> refused_;  // digest -> a checked wrong password
  std::unordered_map<std::string, Pending> pending_;  // digest -> check in flight
  std::unordered_map<std::uint64_t, std::string> tickets_;
  std::unordered_map<std::string, std::size_t> pending_per_address_;
  std::unordered_map<std::string, std::uint64_t> epochs_;
  std::uint64_t next_ticket_ = 1;
  FailureCounts account_failures_;
  FailureCounts address_failures_;
  FailureCounts node_failures_;
  RateLimiter inline_budget_;
  RateLimiter throttled_checks_;
};

}  // namespace chat::core
