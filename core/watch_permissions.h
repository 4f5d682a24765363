// WatchPermissions: whose presence (and typing) each user may see: their contacts, and the co-members
// of groups of at most push_group_limit members who took part in the group. Asked on every presence
// delivery (the broker's READ check) and for every name of a presence query, so each answer is a hash
// lookup in the viewer's set, built once from the store and dropped when a relationship of theirs changes.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/store.h"

namespace chat::core {

// Not thread-safe; borrows `store`.
class WatchPermissions {
 public:
  WatchPermissions(Store& store, std::size_t small_group_limit) : store_(store), small_group_limit_(small_group_limit) {}

  // True when `viewer` may see `user_id`'s presence (anyone may see their own). The first question for
  // a viewer reads their contacts and groups: at most contacts + groups x (2 x small_group_limit + 1) keys.
  bool MayWatch(const std::string& viewer, const std::string& user_id);
  // The relationships of `viewers` changed (a contact, a membership, someone taking part in a group
  // they are in): their sets are built again when next needed.
  void Forget(const std::vector<std::string>& viewers);
  void ForgetAll() {
    watchable_.clear();
    entries_ = 0;
  }

 private:
  const std::unordered_set<std::string>* Watchable(const std::string& viewer);

  Store& store_;
  std::size_t small_group_limit_;
  std::unordered_map<std::string, std::unordered_set<std::string>> watchable_;
  std::size_t entries_ = 0;  // users in all sets together, to bound the memory
};

}  // namespace chat::core
