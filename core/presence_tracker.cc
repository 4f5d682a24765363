#include "core/presence_tracker.h"

namespace chat::core {

void PresenceTracker::Touch(State& state) {
  state.last_sign_ms = clock_.MonotonicMillis();
  state.last_active_wall = clock_.NowMillis();
}

std::optional<PresenceChange> PresenceTracker::Connected(const std::string& user_id) {
  auto [it, inserted] = users_.try_emplace(user_id);
  ++it->second.devices;
  Touch(it->second);
  grace_.erase(user_id);  // a reconnect within the grace period: no flicker
  if (!inserted) return std::nullopt;
  return PresenceChange{user_id, true, it->second.last_active_wall};
}

void PresenceTracker::Heartbeat(const std::string& user_id) {
  auto it = users_.find(user_id);
  if (it == users_.end()) return;
  Touch(it->second);
}

std::optional<PresenceChange> PresenceTracker::Disconnected(const std::string& user_id, bool clean) {
  auto it = users_.find(user_id);
  if (it == users_.end() || it->second.devices == 0) return std::nullopt;
  --it->second.devices;
  Touch(it->second);
  if (it->second.devices > 0) return std::nullopt;
  if (!clean) {
    grace_[user_id] = it->second.last_sign_ms + timeout_ms_;
    return std::nullopt;
  }
  PresenceChange change{user_id, false, it->second.last_active_wall};
  users_.erase(it);
  return change;
}

std::vector<PresenceChange> PresenceTracker::Expire() {
  std::vector<PresenceChange> changes;
  if (grace_.empty()) return changes;
  std::int64_t now = clock_.MonotonicMillis();
  for (auto it = grace_.begin(); it != grace_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    auto user = users_.find(it->first);
    if (user != users_.end()) {
      changes.push_back({it->first, false, user->second.last_active_wall});
      users_.erase(user);
    }
    it = grace_.erase(it);
  }
  return changes;
}

}  // namespace chat::core
