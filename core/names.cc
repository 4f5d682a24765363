#include "core/names.h"

namespace chat::core {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

Status ValidateName(std::string_view what, std::string_view name, std::size_t max_length) {
  if (name.empty()) return Status::Error(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  if (name.size() > max_length) {
    return Status::Error(ErrorCode::kInvalidArgument,
                         std::string(what) + " is longer than " + std::to_string(max_length) + " characters");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Status::Error(ErrorCode::kInvalidArgument,
                           std::string(what) + " may contain only letters, digits, '_', '.' and '-'");
    }
  }
  return Status::Ok();
}

constexpr std::string_view kAutoClientIdPrefix = "auto-";

// Mosquitto's generated ids are "auto-" and an upper-case UUID (8-4-4-4-12 hex digits). Only that exact
// shape is accepted: a self-chosen, guessable "auto-1" could be taken over by another user.
bool IsBrokerAssignedClientId(std::string_view id) {
  if (id.size() != kAutoClientIdPrefix.size() + 36 || id.substr(0, kAutoClientIdPrefix.size()) != kAutoClientIdPrefix) {
    return false;
  }
  std::string_view uuid = id.substr(kAutoClientIdPrefix.size());
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = uuid[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

}  // namespace

Status ValidateUserId(std::string_view user_id) { return ValidateName("user id", user_id, kMaxUserIdLength); }

Status ValidateDeviceId(std::string_view device_id) {
  return ValidateName("device id", device_id, kMaxDeviceIdLength);
}

Status ValidateClientMessageId(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientMessageIdLength) {
    return Status::Error(ErrorCode::kBadRequest, "cmid must be 1 to 64 characters");
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7E) return Status::Error(ErrorCode::kBadRequest, "cmid must be printable ASCII");
  }
  return Status::Ok();
}

Status CheckSessionClientId(std::string_view client_id, bool clean_start) {
  if (!clean_start && IsBrokerAssignedClientId(client_id)) {
    return Status::Error(ErrorCode::kNotAllowed, "a broker-style client id cannot keep a session");
  }
  return Status::Ok();
}

Result<std::string> DeviceIdForClient(std::string_view user_id, std::string_view client_id) {
  if (IsBrokerAssignedClientId(client_id)) return std::string(client_id);
  if (client_id.size() <= user_id.size() + 1 || client_id.substr(0, user_id.size()) != user_id ||
      client_id[user_id.size()] != ':') {
    return Status::Error(ErrorCode::kNotAllowed, "client id must be \"<user>:<device>\"");
  }
  std::string_view device = client_id.substr(user_id.size() + 1);
  if (!ValidateDeviceId(device).ok()) return Status::Error(ErrorCode::kNotAllowed, "invalid device id in client id");
  return std::string(device);
}

}  // namespace chat::core
