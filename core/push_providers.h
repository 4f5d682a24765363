// The push providers a device token may name and the push bridge delivers to, listed once.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace chat::core {

inline constexpr std::array<std::string_view, 3> kPushProviders = {"fcm", "apns", "webhook"};

// True when `provider` is one of kPushProviders.
bool IsKnownPushProvider(std::string_view provider);

// The provider names for messages, separated by ", " and the last by `last_separator`:
// "fcm, apns or webhook" for " or ".
std::string JoinPushProviders(std::string_view last_separator);

}  // namespace chat::core
