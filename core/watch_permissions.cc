#include "core/watch_permissions.h"

namespace chat::core {
namespace {

// Bounds the memory of the sets (tens of MB); when full they are all dropped and built again on demand.
constexpr std::size_t kMaxEntries = 1000000;

}  // namespace

const std::unordered_set<std::string>* WatchPermissions::Watchable(const std::string& viewer) {
  auto found = watchable_.find(viewer);
  if (found != watchable_.end()) return &found->second;
  std::unordered_set<std::string> users;
  Result<std::vector<std::pair<std::string, ContactState>>> contacts = store_.ListContacts(viewer);
  if (!contacts.ok()) return nullptr;
  for (const auto& [other, state] : *contacts) {
    if (state == ContactState::kContact) users.insert(other);
  }
  if (small_group_limit_ > 0) {
    Result<std::vector<std::string>> groups = store_.ListUserGroups(viewer);
    if (!groups.ok()) return nullptr;
    for (const std::string& group : *groups) {
      Result<std::size_t> members = store_.CountMembers(group, small_group_limit_);
      if (!members.ok()) return nullptr;
      if (*members > small_group_limit_) continue;
      // Being added to a group is no consent: only members who took part show their presence.
      Result<std::vector<std::string>> took_part = store_.ListTookPart(group);
      if (!took_part.ok()) return nullptr;
      for (std::string& user : *took_part) users.insert(std::move(user));
    }
  }
  users.erase(viewer);
  if (entries_ + users.size() > kMaxEntries) {
    watchable_.clear();
    entries_ = 0;
  }
  entries_ += users.size();
  return &watchable_.emplace(viewer, std::move(users)).first->second;
}

bool WatchPermissions::MayWatch(const std::string& viewer, const std::string& user_id) {
  if (viewer == user_id) return true;
  const std::unordered_set<std::string>* users = Watchable(viewer);
  return users != nullptr && users->count(user_id) != 0;  // a store failure refuses, and is not cached
}

void WatchPermissions::Forget(const std::vector<std::string>& viewers) {
  for (const std::string& viewer : viewers) {
    auto it = watchable_.find(viewer);
    if (it == watchable_.end()) continue;
    entries_ -= it->second.size();
    watchable_.erase(it);
  }
}

}  // namespace chat::core
