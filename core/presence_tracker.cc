#include "core/presence_tracker.h"

namespace chat::core {

void PresenceTracker::Touch(State& state) {
  state.last_sign_ms = clock_.MonotonicMillis();
  state.last_active_wall = clock_.NowMillis();
}

void PresenceTracker::Schedule(const std::string& user_id, State& state) {
  if (state.deadline_entry != 0) return;
  state.deadline_entry = ++last_entry_;
  deadlines_.push({state.last_sign_ms + timeout_ms_, state.deadline_entry, user_id});
}

PresenceChange PresenceTracker::GoesOnline(const std::string& user_id, State& state) {
  state.shown_online = true;
  Schedule(user_id, state);
  return PresenceChange{user_id, true, state.last_active_wall};
}

std::optional<PresenceChange> PresenceTracker::Connected(const std::string& user_id) {
  State& state = users_[user_id];
  ++state.devices;
  Touch(state);  // a reconnect within the grace period: no flicker
  if (state.shown_online) return std::nullopt;
  return GoesOnline(user_id, state);
}

std::optional<PresenceChange> PresenceTracker::Heartbeat(const std::string& user_id) {
  auto it = users_.find(user_id);
  if (it == users_.end()) return std::nullopt;
  State& state = it->second;
  Touch(state);
  if (state.shown_online || state.devices == 0) return std::nullopt;
  return GoesOnline(user_id, state);
}

std::optional<PresenceChange> PresenceTracker::Disconnected(const std::string& user_id, bool clean) {
  auto it = users_.find(user_id);
  if (it == users_.end() || it->second.devices == 0) return std::nullopt;
  State& state = it->second;
  --state.devices;
  Touch(state);
  if (state.devices > 0) return std::nullopt;
  if (!clean && state.shown_online) return std::nullopt;  // the grace period: its deadline is in the heap
  std::optional<PresenceChange> change;
  if (state.shown_online) change = PresenceChange{user_id, false, state.last_active_wall};
  users_.erase(it);
  return change;
}

std::vector<PresenceChange> PresenceTracker::Expire() {
  std::vector<PresenceChange> changes;
  std::int64_t now = clock_.MonotonicMillis();
  while (!deadlines_.empty() && deadlines_.top().at_ms <= now) {
    Deadline due = deadlines_.top();
    deadlines_.pop();
    auto it = users_.find(due.user_id);
    if (it == users_.end() || it->second.deadline_entry != due.entry) continue;  // gone, or stands elsewhere
    State& state = it->second;
    state.deadline_entry = 0;
    if (state.last_sign_ms + timeout_ms_ > now) {
      Schedule(due.user_id, state);  // heard from since: look again at the new deadline
      continue;
    }
    changes.push_back({due.user_id, false, state.last_active_wall});
    if (state.devices == 0) {
      users_.erase(it);  // a lost connection that never came back
    } else {
      state.shown_online = false;  // connected but silent: its next sign brings it back
    }
  }
  return changes;
}

}  // namespace chat::core
