#include "core/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/account_service.h"
#include "core/names.h"
#include "core/password_hasher.h"
#include "core/resume_tokens.h"

namespace chat::core {
namespace {

// Checks one source address may have waiting for a hash thread; once it is throttled, one.
constexpr std::size_t kMaxPendingPerAddress = 8;
// Bounds the memory of the failure counters and of the remembered refusals; past it, expired entries
// go, and if that is not enough, all of them (which only forgets throttling early).
constexpr std::size_t kMaxTrackedKeys = 100000;

Status Refused() { return Status::Error(ErrorCode::kNotAllowed, "bad user name or password"); }
Status TryAgain() { return Status::Error(ErrorCode::kTryAgain, "checking the password; connect again shortly"); }

}  // namespace

std::uint32_t Authenticator::FailureCounts::Count(const std::string& key, std::int64_t now, std::int64_t window_ms) {
  auto it = counts_.find(key);
  if (it == counts_.end()) return 0;
  if (now - it->second.start_ms >= window_ms) {
    counts_.erase(it);
    return 0;
  }
  return it->second.count;
}

void Authenticator::FailureCounts::Add(const std::string& key, std::int64_t now, std::int64_t window_ms) {
  if (counts_.size() >= kMaxTrackedKeys && !counts_.count(key)) {
    std::erase_if(counts_, [&](const auto& entry) { return now - entry.second.start_ms >= window_ms; });
    if (counts_.size() >= kMaxTrackedKeys) counts_.clear();
  }
  Window& w = counts_[key];
  if (w.count == 0 || now - w.start_ms >= window_ms) w = Window{0, now};
  ++w.count;
}

void Authenticator::ApplySettings(const AuthSettings& settings) {
  AuthSettings applied = settings;
  applied.credential_cache_entries = settings_.credential_cache_entries;
  applied.max_pending_checks = settings_.max_pending_checks;
  applied.hash_threads = settings_.hash_threads;
  settings_ = applied;
  window_ms_ = static_cast<std::int64_t>(settings.failure_window_seconds) * 1000;
  inline_budget_.SetRate(settings.inline_hash_rounds_per_second, settings.inline_hash_rounds_per_second);
  throttled_checks_.SetRate(settings.throttled_checks_per_second, 1);
  // An unknown name must cost what a new password costs, or the time would tell names apart.
  dummy_hash_.iterations = settings.pbkdf2_iterations;
}

Authenticator::Authenticator(Store& store, const Clock& clock, const AuthSettings& settings, PasswordChecker& checker)
    : store_(store),
      clock_(clock),
      settings_(settings),
      checker_(checker),
      window_ms_(static_cast<std::int64_t>(settings.failure_window_seconds) * 1000),
      inline_budget_(clock, settings.inline_hash_rounds_per_second, settings.inline_hash_rounds_per_second),
      throttled_checks_(clock, settings.throttled_checks_per_second, 1) {
  if (RAND_bytes(cache_key_.data(), static_cast<int>(cache_key_.size())) != 1) {
    // Without a random key the cache would be predictable; run without it.
    settings_.credential_cache_entries = 0;
  }
  // What an unknown name is checked against: the cost of a real account's hash, and no password matches
  // it (its digest is all zeros).
  std::string random(32, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(random.data()), static_cast<int>(random.size()));
  dummy_hash_.iterations = settings.pbkdf2_iterations;
  dummy_hash_.salt = random.substr(0, 16);
  dummy_hash_.digest = std::string(32, '\0');
  OPENSSL_cleanse(random.data(), random.size());
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

std::uint64_t Authenticator::Epoch(const std::string& user_id) const {
  auto it = epochs_.find(user_id);
  return it == epochs_.end() ? 0 : it->second;
}

void Authenticator::Remember(const std::string& user_id, const Digest& digest, const Login& login) {
  if (settings_.credential_cache_entries == 0) return;
  // A full cache is emptied rather than tracked per entry: refills cost one PBKDF2 per active user.
  if (cache_.size() >= settings_.credential_cache_entries) cache_.clear();
  cache_[user_id] = CachedLogin{digest, login};
}

void Authenticator::RecordFailure(const std::string& user_id, const std::string& address, const Digest& digest) {
  std::int64_t now = clock_.MonotonicMillis();
  account_failures_.Add(user_id, now, window_ms_);
  address_failures_.Add(address, now, window_ms_);
  node_failures_.Add("", now, window_ms_);
  // The same wrong password again is refused without another check, for the rest of the window.
  if (refused_.size() >= kMaxTrackedKeys) {
    std::erase_if(refused_, [&](const auto& entry) { return entry.second.expires_ms <= now; });
    if (refused_.size() >= kMaxTrackedKeys) refused_.clear();
  }
  refused_[Key(digest)] = Refusal{now + window_ms_, Epoch(user_id)};
}

void Authenticator::CollectOutcomes() {
  for (const PasswordCheckOutcome& outcome : checker_.TakeOutcomes()) {
    auto ticket = tickets_.find(outcome.ticket);
    if (ticket == tickets_.end()) continue;
    std::string key = std::move(ticket->second);
    tickets_.erase(ticket);
    auto found = pending_.find(key);
    if (found == pending_.end()) continue;
    Pending pending = std::move(found->second);
    pending_.erase(found);
    auto waiting = pending_per_address_.find(pending.address);
    if (waiting != pending_per_address_.end() && --waiting->second == 0) pending_per_address_.erase(waiting);
    if (pending.epoch != Epoch(pending.user_id)) continue;  // the password changed meanwhile
    Digest digest;
    std::copy(key.begin(), key.end(), digest.begin());
    if (outcome.match && pending.exists) {
      Remember(pending.user_id, digest, pending.login);
    } else {
      RecordFailure(pending.user_id, pending.address, digest);
    }
  }
}

bool Authenticator::MayCheckInline(const std::string& user_id, const std::string& address, std::uint32_t iterations) {
  if (settings_.inline_hash_rounds_per_second <= 0) return false;
  std::int64_t now = clock_.MonotonicMillis();
  if (account_failures_.Count(user_id, now, window_ms_) > 0 || address_failures_.Count(address, now, window_ms_) > 0) {
    return false;
  }
  if (node_failures_.Count("", now, window_ms_) >= settings_.max_failed_logins) return false;
  return inline_budget_.TryAcquire("", iterations);
}

void Authenticator::Enqueue(const std::string& user_id, const std::string& address, std::string_view password,
                            const PasswordHash& hash, bool exists, const Login& login, const Digest& digest) {
  std::int64_t now = clock_.MonotonicMillis();
  bool address_throttled = address_failures_.Count(address, now, window_ms_) >= settings_.max_failed_logins;
  bool account_throttled = account_failures_.Count(user_id, now, window_ms_) >= settings_.max_failed_logins;
  auto waiting = pending_per_address_.find(address);
  std::size_t waiting_here = waiting == pending_per_address_.end() ? 0 : waiting->second;
  if (waiting_here >= (address_throttled || account_throttled ? 1 : kMaxPendingPerAddress)) return;
  if (pending_.size() >= settings_.max_pending_checks) return;
  // A throttled address gets its checks per second whatever the account; on a throttled account each
  // address gets its own, so the owner's attempts from elsewhere are not crowded out by a guesser's.
  if (address_throttled && !throttled_checks_.TryAcquire("address\n" + address)) return;
  if (account_throttled && !throttled_checks_.TryAcquire("account\n" + user_id + "\n" + address)) return;
  std::uint64_t ticket = next_ticket_++;
  if (!checker_.Submit(PasswordCheck{ticket, std::string(password), hash})) return;
  tickets_.emplace(ticket, Key(digest));
  pending_.emplace(Key(digest), Pending{user_id, address, Epoch(user_id), exists, login});
  ++pending_per_address_[address];
}

Result<Authenticator::Login> Authenticator::AuthenticateToken(const std::string& user_id, std::string_view device_id,
                                                              std::string_view token) {
  if (settings_.resume_token_days == 0) return Refused();
  Result<std::optional<ResumeToken>> stored = store_.GetResumeToken(user_id, std::string(device_id));
  if (!stored.ok()) return stored.status();
  if (!*stored || !MatchesResumeToken(**stored, user_id, token, clock_.NowMillis(), settings_.resume_token_days)) {
    return Refused();
  }
  Result<UserRecord> user = store_.GetUser(user_id);
  if (user.status().code() == ErrorCode::kNotFound) return Refused();
  if (!user.ok()) return user.status();
  return Login{user->is_admin, user->history_floor};
}

Result<Authenticator::Login> Authenticator::Authenticate(std::string_view user_id_view, std::string_view password,
                                                         std::string_view device_id, std::string_view address_view) {
  CollectOutcomes();
  // Such a name or password cannot belong to an account: answered at once, which tells nobody anything.
  if (!ValidateUserId(user_id_view).ok() || password.size() > kMaxPasswordBytes) return Refused();
  std::string user_id(user_id_view);
  // Never a password (AccountService refuses passwords of this form), so never hashed.
  if (LooksLikeResumeToken(password)) return AuthenticateToken(user_id, device_id, password);
  std::string address(address_view);
  Digest digest = CacheDigest(user_id, password);

  if (settings_.credential_cache_entries > 0) {
    auto cached = cache_.find(user_id);
    if (cached != cache_.end() && CRYPTO_memcmp(digest.data(), cached->second.digest.data(), digest.size()) == 0) {
      return cached->second.login;
    }
  }
  std::string key = Key(digest);
  if (auto refused = refused_.find(key); refused != refused_.end()) {
    if (refused->second.epoch == Epoch(user_id) && refused->second.expires_ms > clock_.MonotonicMillis()) {
      return Refused();
    }
    refused_.erase(refused);
  }
  if (pending_.count(key)) return TryAgain();

  Result<UserRecord> user = store_.GetUser(user_id);
  bool exists = user.ok();
  if (!exists && user.status().code() != ErrorCode::kNotFound) return user.status();
  const PasswordHash& hash = exists ? user->password : dummy_hash_;
  Login login;
  if (exists) login = Login{user->is_admin, user->history_floor};
  if (MayCheckInline(user_id, address, hash.iterations)) {
    if (VerifyPassword(password, hash) && exists) {
      Remember(user_id, digest, login);
      return login;
    }
    RecordFailure(user_id, address, digest);
    return Refused();
  }
  Enqueue(user_id, address, password, hash, exists, login, digest);
  return TryAgain();
}

void Authenticator::Forget(const std::string& user_id) {
  cache_.erase(user_id);
  ++epochs_[user_id];
}

}  // namespace chat::core
