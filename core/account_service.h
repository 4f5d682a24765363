// AccountService: create, delete, re-password and list accounts. Used by the operator tool offline
// and by the $CONTROL/chat-accounts/v1 handler inside the broker.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/settings.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

// Not thread-safe; borrows `store` and `clock`. `on_credentials_changed` (may be empty) is told the
// user id whenever a password changes (deleted false) or an account goes (true), so cached logins and
// sessions can be dropped.
class AccountService {
 public:
  AccountService(Store& store, const Clock& clock, const AuthSettings& settings,
                 std::function<void(const std::string&, bool deleted)> on_credentials_changed = {});

  // kInvalidArgument for a bad user id or empty password; kAlreadyExists if the user exists.
  Status AddUser(const std::string& user_id, const std::string& password, bool is_admin);
  // kNotFound if the user does not exist.
  Status SetPassword(const std::string& user_id, const std::string& password);
  Status DeleteUser(const std::string& user_id);
  // Up to `limit` user ids after `after`, ascending.
  Result<std::vector<UserRecord>> ListUsers(const std::string& after, std::size_t limit);

 private:
  Status CheckPassword(const std::string& password) const;

  Store& store_;
  const Clock& clock_;
  AuthSettings settings_;
  std::function<void(const std::string&, bool deleted)> on_credentials_changed_;
};

// Longest password accepted, in bytes; PBKDF2 cost grows with it. MQTT allows 65535.
inline constexpr std::size_t kMaxPasswordBytes = 1024;

}  // namespace chat::core
