#include "core/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/names.h"
#include "core/password_hasher.h"

namespace chat::core {
namespace {

Status Refused() { return Status::Error(ErrorCode::kNotAllowed, "bad user name or password"); }

}  // namespace

Authenticator::Authenticator(Store& store, const Clock& clock, const AuthSettings& settings)
    : store_(store),
      clock_(clock),
      settings_(settings),
      hashing_budget_(clock, settings.max_hash_rounds_per_second, 2 * settings.max_hash_rounds_per_second) {
  if (RAND_bytes(cache_key_.data(), static_cast<int>(cache_key_.size())) != 1) {
    // Without a random key the cache would be predictable; run without it.
    settings_.credential_cache_entries = 0;
  }
}

Authenticator::Digest Authenticator::CacheDigest(std::string_view user_id, std::string_view password) const {
  Digest digest{};
  unsigned int len = 0;
  std::string input;
  input.reserve(user_id.size() + 1 + password.size());
  input.append(user_id).push_back('\0');
  input.append(password);
  HMAC(EVP_sha256(), cache_key_.data(), static_cast<int>(cache_key_.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data(), &len);
  OPENSSL_cleanse(input.data(), input.size());
  return digest;
}

bool Authenticator::IsLockedOut(const std::string& user_id) {
  auto it = failures_.find(user_id);
  if (it == failures_.end()) return false;
  std::int64_t now = clock_.MonotonicMillis();
  if (now - it->second.window_start_ms >= static_cast<std::int64_t>(settings_.lockout_seconds) * 1000) {
    failures_.erase(it);
    return false;
  }
  return it->second.count >= settings_.max_failed_logins;
}

void Authenticator::RecordFailure(const std::string& user_id) {
  Failures& f = failures_[user_id];
  std::int64_t now = clock_.MonotonicMillis();
  if (f.count == 0 ||
      now - f.window_start_ms >= static_cast<std::int64_t>(settings_.lockout_seconds) * 1000) {
    f.count = 0;
    f.window_start_ms = now;
  }
  ++f.count;
}

Result<Authenticator::Login> Authenticator::Authenticate(std::string_view user_id_view, std::string_view password) {
  if (!ValidateUserId(user_id_view).ok()) return Refused();
  std::string user_id(user_id_view);

  if (settings_.credential_cache_entries > 0) {
    auto cached = cache_.find(user_id);
    if (cached != cache_.end()) {
      Digest digest = CacheDigest(user_id, password);
      if (CRYPTO_memcmp(digest.data(), cached->second.digest.data(), digest.size()) == 0) {
        return Login{cached->second.is_admin};
      }
    }
  }
  if (IsLockedOut(user_id)) return Refused();

  Result<UserRecord> user = store_.GetUser(user_id);
  if (!user.ok()) {
    if (user.status().code() == ErrorCode::kNotFound) return Refused();
    return user.status();
  }
  // Too many uncached logins at once: refused unchecked (not counted as a failure); the client retries.
  if (!hashing_budget_.TryAcquire("", user->password.iterations)) return Refused();
  if (!VerifyPassword(password, user->password)) {
    RecordFailure(user_id);
    return Refused();
  }
  failures_.erase(user_id);
  if (settings_.credential_cache_entries > 0) {
    // A full cache is emptied rather than tracked per entry: refills cost one PBKDF2 per active user.
    if (cache_.size() >= settings_.credential_cache_entries) cache_.clear();
    cache_[user_id] = CachedLogin{CacheDigest(user_id, password), user->is_admin};
  }
  return Login{user->is_admin};
}

void Authenticator::Forget(const std::string& user_id) {
  cache_.erase(user_id);
  failures_.erase(user_id);
}

}  // namespace chat::core
