// Salted PBKDF2-HMAC-SHA256 password hashing (OpenSSL), compared in constant time.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/records.h"
#include "core/status.h"

namespace chat::core {

// Hashes `password` with a fresh 16-byte random salt. Fails only if the OS random source does.
Result<PasswordHash> HashPassword(std::string_view password, std::uint32_t iterations);

// True when `password` matches `hash`. Cost is `hash.iterations` PBKDF2 rounds.
bool VerifyPassword(std::string_view password, const PasswordHash& hash);

}  // namespace chat::core
