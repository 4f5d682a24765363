// PresenceTracker: who is online, from connections, heartbeats and logouts. Pure state over a clock;
// the plugin feeds it broker events and publishes the changes it reports.
#pragma once

#include <cstdint>
#include <optional>
#include <queue>
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

// A user is online while one of their devices is connected and a sign of life (a connect, a heartbeat,
// any request) came from them within `timeout_ms` (DESIGN.md rule 6: a device whose connection stays
// open but which stops heartbeating shows offline after the timeout; its next sign brings the user back).
// A clean logout of the last device makes the user offline at once; a lost connection (killed app, dead
// network) only after `timeout_ms` with no connection and no sign, so a reconnect within that window
// shows no offline flicker. Not thread-safe; borrows `clock`.
//
// The timeouts are checked in deadline order (a heap with one entry per online user, pushed again when a
// popped user turns out to have been heard from since), so Expire costs the users whose deadline came,
// not every online user.
class PresenceTracker {
 public:
  PresenceTracker(const Clock& clock, std::int64_t timeout_ms) : clock_(clock), timeout_ms_(timeout_ms) {}
  // A new timeout (a reloaded config): it counts from each user's last sign, at their next deadline.
  void set_timeout_ms(std::int64_t timeout_ms) { timeout_ms_ = timeout_ms; }

  // A device of `user_id` connected. A change when the user was shown offline.
  std::optional<PresenceChange> Connected(const std::string& user_id);
  // A sign of life from a connected device of the user (heartbeat or request). A change when the user
  // had gone silent for the timeout and was shown offline.
  std::optional<PresenceChange> Heartbeat(const std::string& user_id);
  // A device disconnected; `clean` when it logged out first. A change when the user goes offline now.
  std::optional<PresenceChange> Disconnected(const std::string& user_id, bool clean);
  // Drops everything known of `user_id` (a deleted account), with no change to publish.
  void Forget(const std::string& user_id) { users_.erase(user_id); }
  // Users whose timeout ran out since the last call: lost connections past their grace period and
  // connected devices that went silent (call it from the broker's TICK).
  std::vector<PresenceChange> Expire();

  bool IsOnline(const std::string& user_id) const {
    auto it = users_.find(user_id);
    return it != users_.end() && it->second.shown_online;
  }
  // True while a device of the user is connected, heard from lately or not (it gets events live).
  bool HasConnectedDevice(const std::string& user_id) const {
    auto it = users_.find(user_id);
    return it != users_.end() && it->second.devices > 0;
  }

 private:
  struct State {
    int devices = 0;
    bool shown_online = false;
    std::int64_t last_sign_ms = 0;      // monotonic: connect, heartbeat, request or disconnect
    std::int64_t last_active_wall = 0;  // wall clock of the same moment
    std::uint64_t deadline_entry = 0;   // the heap entry that stands for this user (0: none)
  };
  struct Deadline {
    std::int64_t at_ms;
    std::uint64_t entry;
    std::string user_id;
    bool operator>(const Deadline& other) const { return at_ms > other.at_ms; }
  };
  void Touch(State& state);
  // Makes sure the user's timeout will be looked at (one heap entry per user).
  void Schedule(const std::string& user_id, State& state);
  PresenceChange GoesOnline(const std::string& user_id, State& state);

  const Clock& clock_;
  std::int64_t timeout_ms_;
  // Users connected, or shown online within a grace period; a silent connected user stays, shown offline.
  std::unordered_map<std::string, State> users_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::uint64_t last_entry_ = 0;
};

}  // namespace chat::core
