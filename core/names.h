// Rules for user ids, device ids, client ids and client message ids: the strings that end up inside
// MQTT topics and storage keys, so none of them may carry topic syntax or key separators.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace chat::core {

inline constexpr std::size_t kMaxUserIdLength = 64;
inline constexpr std::size_t kMaxDeviceIdLength = 64;
inline constexpr std::size_t kMaxClientMessageIdLength = 64;

// A user id is 1..64 characters from [A-Za-z0-9_.-], so it can never contain '+', '#', '/', NUL,
// '$', ':' or control characters. Returns an error naming what is wrong.
Status ValidateUserId(std::string_view user_id);

// A device id follows the same character rule as a user id.
Status ValidateDeviceId(std::string_view device_id);

// A client message id (the client's idempotency key for a send) is 1..64 printable ASCII characters.
Status ValidateClientMessageId(std::string_view client_message_id);

// The MQTT client id of a device is "<user>:<device>". Clients that send an empty client id get a
// broker-assigned "auto-<UUID>" id, which is accepted too (device id = the whole generated id).
// Binding the client id to the user stops one user from taking over (and so disconnecting) another
// user's session by connecting with the same client id, which the stock broker would allow.

// Returns the device id when `client_id` may be used by `user_id`, or kNotAllowed.
Result<std::string> DeviceIdForClient(std::string_view user_id, std::string_view client_id);

// kNotAllowed when a connection asks to keep a session (no clean start) under a broker-style "auto-..."
// id: whoever chose it, the broker or a client, a kept session could be resumed by anyone who learns the
// id. The broker assigns such ids only to clean-start connections anyway.
Status CheckSessionClientId(std::string_view client_id, bool clean_start);

}  // namespace chat::core
