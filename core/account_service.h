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

// What the rest of the server does when accounts change (each may be empty).
struct AccountHooks {
  // Erases what an account left (groups, contacts, queue, ...) before its record goes; on failure the
  // account stays, so deleting it again finishes the job.
  std::function<Status(const std::string& user_id)> erase_data;
  // Told after a password changed (deleted false) or an account went (true), so cached logins and
  // sessions can be dropped.
  std::function<void(const std::string& user_id, bool deleted)> credentials_changed;
  // Stores what an account change implies besides the account record (resume tokens revoked), in
  // order with the requests being committed; empty: written to the store directly (offline tools).
  std::function<Status(WriteSet writes)> commit;
};

// Not thread-safe; borrows `store`, `clock` and `settings`.
class AccountService {
 public:
  AccountService(Store& store, const Clock& clock, const AuthSettings& settings, AccountHooks hooks = {});
  AccountService(Store& store, const Clock& clock, AuthSettings&& settings, AccountHooks hooks = {}) = delete;

  // kInvalidArgument for a bad user id or empty password; kAlreadyExists if the user exists. The new
  // account's history floor is the largest message id so far (see UserRecord::history_floor).
  Status AddUser(const std::string& user_id, const std::string& password, bool is_admin);
  // kNotFound if the user does not exist. Every resume token of the user ends.
  Status SetPassword(const std::string& user_id, const std::string& password);
  // Ends every resume token of the user and its live connections (its devices log in with the
  // password again); kNotFound if the user does not exist.
  Status RevokeResumeTokens(const std::string& user_id);
  Status DeleteUser(const std::string& user_id);
  // Up to `limit` user ids after `after`, ascending.
  Result<std::vector<UserRecord>> ListUsers(const std::string& after, std::size_t limit);

 private:
  Status CheckPassword(const std::string& password) const;
  Status Commit(WriteSet writes);

  Store& store_;
  const Clock& clock_;
  const AuthSettings& settings_;  // borrowed: a reloaded config changes it in place
  AccountHooks hooks_;
};

// Longest password accepted, in bytes; PBKDF2 cost grows with it. MQTT allows 65535.
inline constexpr std::size_t kMaxPasswordBytes = 1024;

}  // namespace chat::core
