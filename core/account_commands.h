// The JSON command format of $CONTROL/chat-accounts/v1, shaped like Mosquitto's dynamic-security
// control API: {"commands":[{"command":"addUser",...}]} answered by {"responses":[...]}.
#pragma once

#include <string>
#include <string_view>

#include "core/account_service.h"

namespace chat::core {

// Runs every command in `payload` against `accounts` and returns the response document. Malformed
// input yields a response with an "error" field; it never throws.
std::string RunAccountCommands(AccountService& accounts, std::string_view payload);

}  // namespace chat::core
