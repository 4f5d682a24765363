// PresenceTracker: who is online, from connections, heartbeats and logouts. Pure state over a clock;
// the plugin feeds it broker events and publishes the changes it reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace chat::core {

struct PresenceChange {
  std::string user_id;
  bool online = false;
  std::int64_t last_active_ms = 0;  // wall clock: now when going online, last seen when going offline
};

// A user is online while any device is connected. When the last device goes, a clean logout makes the
// user offline at once; a lost connection (killed app, dead network) only after `timeout_ms` with no
// connection and no heartbeat, so a reconnect within that window shows no offline flicker. Not
// thread-safe; borrows `clock`.
class PresenceTracker {
 public:
  PresenceTracker(const Clock& clock, std::int64_t timeout_ms) : clock_(clock), timeout_ms_(timeout_ms) {}

  // A device of `user_id` connected. A change when the user was offline.
  std::optional<PresenceChange> Connected(const std::string& user_id);
  // Any sign of life from the user (heartbeat or request).
  void Heartbeat(const std::string& user_id);
  // A device disconnected; `clean` when it logged out first. A change when the user goes offline now.
  std::optional<PresenceChange> Disconnected(const std::string& user_id, bool clean);
  // Drops everything known of `user_id` (a deleted account), with no change to publish.
  void Forget(const std::string& user_id) {
    users_.erase(user_id);
    grace_.erase(user_id);
  }
  // Users whose grace period ran out since the last call (call it from the broker's TICK).
  std::vector<PresenceChange> Expire();

  bool IsOnline(const std::string& user_id) const { return users_.count(user_id) != 0; }
  // True while a device of the user is connected (not counting the grace period after a lost one).
  bool HasConnectedDevice(const std::string& user_id) const {
    auto it = users_.find(user_id);
    return it != users_.end() && it->second.devices > 0;
  }

 private:
  struct State {
    int devices = 0;
    std::int64_t last_sign_ms = 0;      // monotonic: connect, heartbeat or disconnect
    std::int64_t last_active_wall = 0;  // wall clock of the same moment
  };
  void Touch(State& state);

  const Clock& clock_;
  std::int64_t timeout_ms_;
  std::unordered_map<std::string, State> users_;         // online users (devices > 0 or in grace)
  std::unordered_map<std::string, std::int64_t> grace_;  // users with no device: grace deadline
};

}  // namespace chat::core
