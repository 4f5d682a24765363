#include "core/account_service.h"

#include "core/names.h"
#include "core/password_hasher.h"
#include "core/resume_tokens.h"

namespace chat::core {

AccountService::AccountService(Store& store, const Clock& clock, const AuthSettings& settings, AccountHooks hooks)
    : store_(store), clock_(clock), settings_(settings), hooks_(std::move(hooks)) {}

Status AccountService::CheckPassword(const std::string& password) const {
  if (password.empty()) return Status::Error(ErrorCode::kInvalidArgument, "password is empty");
  if (password.size() > kMaxPasswordBytes) {
    return Status::Error(ErrorCode::kInvalidArgument, "password is longer than 1024 bytes");
  }
  if (LooksLikeResumeToken(password)) {
    return Status::Error(ErrorCode::kInvalidArgument, "password has the form of a resume token; choose another");
  }
  return Status::Ok();
}

Status AccountService::Commit(WriteSet writes) {
  return hooks_.commit ? hooks_.commit(std::move(writes)) : store_.Apply(writes);
}

Status AccountService::AddUser(const std::string& user_id, const std::string& password, bool is_admin) {
  if (Status s = ValidateUserId(user_id); !s.ok()) return s;
  if (Status s = CheckPassword(password); !s.ok()) return s;
  Status exists = store_.UserExists(user_id);
  if (exists.ok()) return Status::Error(ErrorCode::kAlreadyExists, "user " + user_id + " exists");
  if (exists.code() != ErrorCode::kNotFound) return exists;
  Result<MessageId> floor = store_.LargestMessageId();
  if (!floor.ok()) return floor.status();
  Result<PasswordHash> hash = HashPassword(password, settings_.pbkdf2_iterations);
  if (!hash.ok()) return hash.status();
  WriteSet add;
  add.users.push_back(UserRecord{user_id, std::move(*hash), is_admin, clock_.NowMillis(), *floor});
  return Commit(std::move(add));
}

Status AccountService::SetPassword(const std::string& user_id, const std::string& password) {
  if (Status s = CheckPassword(password); !s.ok()) return s;
  Result<UserRecord> user = store_.GetUser(user_id);
  if (!user.ok()) return user.status();
  Result<PasswordHash> hash = HashPassword(password, settings_.pbkdf2_iterations);
  if (!hash.ok()) return hash.status();
  user->password = std::move(*hash);
  // The new password and the end of every resume token in one write: no device keeps a way in that
  // the old password gave it.
  WriteSet change;
  change.resume_tokens_revoked.push_back(user_id);
  change.users.push_back(std::move(*user));
  if (Status s = Commit(std::move(change)); !s.ok()) return s;
  if (hooks_.credentials_changed) hooks_.credentials_changed(user_id, /*deleted=*/false);
  return Status::Ok();
}

Status AccountService::RevokeResumeTokens(const std::string& user_id) {
  if (Status s = store_.UserExists(user_id); !s.ok()) return s;
  WriteSet revoke;
  revoke.resume_tokens_revoked.push_back(user_id);
  if (Status s = Commit(std::move(revoke)); !s.ok()) return s;
  // A device that logged in with a revoked token must not stay connected on it.
  if (hooks_.credentials_changed) hooks_.credentials_changed(user_id, /*deleted=*/false);
  return Status::Ok();
}

Status AccountService::DeleteUser(const std::string& user_id) {
  if (Status s = store_.UserExists(user_id); !s.ok()) return s;
  if (hooks_.erase_data) {
    if (Status s = hooks_.erase_data(user_id); !s.ok()) return s;
  }
  WriteSet remove;
  remove.users_deleted.push_back(user_id);
  if (Status s = Commit(std::move(remove)); !s.ok()) return s;
  if (hooks_.credentials_changed) hooks_.credentials_changed(user_id, /*deleted=*/true);
  return Status::Ok();
}

Result<std::vector<UserRecord>> AccountService::ListUsers(const std::string& after, std::size_t limit) {
  Result<std::vector<std::string>> ids = store_.ListUsers(after, limit);
  if (!ids.ok()) return ids.status();
  std::vector<UserRecord> users;
  for (const std::string& id : *ids) {
    Result<UserRecord> user = store_.GetUser(id);
    if (!user.ok()) return user.status();
    user->password = {};  // never leaves the store
    users.push_back(std::move(*user));
  }
  return users;
}

}  // namespace chat::core
