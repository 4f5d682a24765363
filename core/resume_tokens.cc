#include "core/resume_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <limits>

namespace chat::core {
namespace {

constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kTokenLength = kResumeTokenPrefix.size() + 2 * kSecretBytes;

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

std::string Digest(std::string_view user_id, std::string_view device_id, std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr) return "";
  // NUL separates the parts: it occurs in none of them, so no two (user, device, token) hash alike.
  const char separator = '\0';
  bool ok = EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(context, user_id.data(), user_id.size()) == 1 &&
            EVP_DigestUpdate(context, &separator, 1) == 1 &&
            EVP_DigestUpdate(context, device_id.data(), device_id.size()) == 1 &&
            EVP_DigestUpdate(context, &separator, 1) == 1 &&
            EVP_DigestUpdate(context, token.data(), token.size()) == 1 &&
            EVP_DigestFinal_ex(context, digest.data(), &length) == 1;
  EVP_MD_CTX_free(context);
  if (!ok) return "";
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

}  // namespace

bool LooksLikeResumeToken(std::string_view password) {
  if (password.size() != kTokenLength || password.substr(0, kResumeTokenPrefix.size()) != kResumeTokenPrefix) {
    return false;
  }
  for (char c : password.substr(kResumeTokenPrefix.size())) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

Result<NewResumeToken> MakeResumeToken(std::string_view user_id, std::string_view device_id, std::int64_t now_ms) {
  std::array<unsigned char, kSecretBytes> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return Status::Error(ErrorCode::kInternal, "no random bytes for a resume token");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  NewResumeToken made;
  made.token.reserve(kTokenLength);
  made.token.append(kResumeTokenPrefix);
  for (unsigned char byte : secret) {
    made.token.push_back(kHex[byte >> 4]);
    made.token.push_back(kHex[byte & 0x0F]);
  }
  OPENSSL_cleanse(secret.data(), secret.size());
  made.record.device_id = std::string(device_id);
  made.record.digest = Digest(user_id, device_id, made.token);
  made.record.issued_at_ms = now_ms;
  if (made.record.digest.empty()) return Status::Error(ErrorCode::kInternal, "cannot hash a resume token");
  return made;
}

std::int64_t ResumeTokenExpiry(std::int64_t issued_at_ms, std::uint32_t lifetime_days) {
  std::int64_t lifetime_ms = static_cast<std::int64_t>(lifetime_days) * 24 * 3600 * 1000;
  // A damaged record may hold any time: saturate rather than overflow.
  if (issued_at_ms > std::numeric_limits<std::int64_t>::max() - lifetime_ms) return std::numeric_limits<std::int64_t>::max();
  return issued_at_ms + lifetime_ms;
}

bool MatchesResumeToken(const ResumeToken& stored, std::string_view user_id, std::string_view presented,
                        std::int64_t now_ms, std::uint32_t lifetime_days) {
  // Issued in the future: a damaged record (or a clock set back), not a token to trust.
  if (!LooksLikeResumeToken(presented) || stored.issued_at_ms > now_ms ||
      now_ms >= ResumeTokenExpiry(stored.issued_at_ms, lifetime_days)) {
    return false;
  }
  std::string digest = Digest(user_id, stored.device_id, presented);
  return !digest.empty() && digest.size() == stored.digest.size() &&
         CRYPTO_memcmp(digest.data(), stored.digest.data(), digest.size()) == 0;
}

}  // namespace chat::core
