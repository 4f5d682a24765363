// Resume tokens: what lets a device log in again without its password, so that a broker restart or a
// network blip does not cost every device a PBKDF2 (70-140 ms each, on two cores).
//
// After a password login a device asks for one (`resume_token` request); it is a 256-bit random secret,
// written "rt1_" + 64 hex digits, that the device presents as its MQTT password next time, with the same
// client id. The store keeps only a SHA-256 of (user, device, token): a copy of the store yields no
// token, and since the secret is random a slow hash would add nothing (there is no dictionary to try),
// so a check costs one store read and one SHA-256, microseconds on the broker thread. A token ends when
// it expires, when the device gets a new one, when the password changes, and by `chatctl revoke-tokens`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/records.h"
#include "core/settings.h"
#include "core/status.h"

namespace chat::core {

inline constexpr std::string_view kResumeTokenPrefix = "rt1_";

// Whether `password` has the exact shape of a resume token. Such a password is only ever checked as a
// token, so an account's password may not have it (AccountService refuses it).
bool LooksLikeResumeToken(std::string_view password);

// A new token for the device: the secret to hand over once, and the record to store.
struct NewResumeToken {
  std::string token;
  ResumeToken record;
};
Result<NewResumeToken> MakeResumeToken(std::string_view user_id, std::string_view device_id, std::int64_t now_ms);

// Whether `presented` is the token `stored` was made from, for that user and device, and not expired
// (`lifetime_days` after it was issued). Constant time in the secret.
bool MatchesResumeToken(const ResumeToken& stored, std::string_view user_id, std::string_view presented,
                        std::int64_t now_ms, std::uint32_t lifetime_days);

// When a token issued at `issued_at_ms` expires.
std::int64_t ResumeTokenExpiry(std::int64_t issued_at_ms, std::uint32_t lifetime_days);

}  // namespace chat::core
