#include "core/password_hasher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace chat::core {
namespace {

constexpr int kSaltBytes = 16;
constexpr int kDigestBytes = 32;

bool Derive(std::string_view password, const std::string& salt, std::uint32_t iterations, std::string* out) {
  out->assign(kDigestBytes, '\0');
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                           static_cast<int>(iterations), EVP_sha256(), kDigestBytes,
                           reinterpret_cast<unsigned char*>(out->data())) == 1;
}

}  // namespace

Result<PasswordHash> HashPassword(std::string_view password, std::uint32_t iterations) {
  PasswordHash hash;
  hash.iterations = iterations;
  hash.salt.assign(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(hash.salt.data()), kSaltBytes) != 1) {
    return Status::Error(ErrorCode::kInternal, "no random bytes for a salt");
  }
  if (!Derive(password, hash.salt, iterations, &hash.digest)) {
    return Status::Error(ErrorCode::kInternal, "PBKDF2 failed");
  }
  return hash;
}

bool VerifyPassword(std::string_view password, const PasswordHash& hash) {
  if (hash.digest.size() != kDigestBytes || hash.iterations == 0) return false;
  std::string derived;
  if (!Derive(password, hash.salt, hash.iterations, &derived)) return false;
  return CRYPTO_memcmp(derived.data(), hash.digest.data(), kDigestBytes) == 0;
}

}  // namespace chat::core
