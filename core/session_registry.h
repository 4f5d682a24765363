// SessionRegistry: the connections the plugin admitted, keyed by the broker's connection handle, and the
// sessions they may have left behind in the broker after disconnecting. Caps how many devices (distinct
// client ids) one user may have connected, and how many sessions, connected or not, they may hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace chat::core {

struct Session {
  std::string user_id;
  std::string client_id;
  bool is_admin = false;
  std::uint64_t history_floor = 0;  // the account's UserRecord::history_floor
  bool is_service = false;  // a push bridge account
  bool said_bye = false;    // the device logged out before disconnecting
  // The broker may keep the session after the connection ends: MQTT 3.1.1 without clean session, or
  // any MQTT 5 connection (a plugin of Mosquitto 2.0 cannot see the session expiry interval).
  bool may_persist = false;
  // The plugin's own connection that ends an offline session (see plugins/session_reaper.h).
  bool is_reaper = false;
};

// Not thread-safe (broker thread only). Handles are opaque (the broker's `struct mosquitto *`): on a
// takeover the new connection is admitted before the old one with the same client id goes, so the
// client id alone cannot key a session.
class SessionRegistry {
 public:
  using Handle = const void*;
  SessionRegistry(std::size_t max_devices_per_user, std::size_t max_sessions_per_user)
      : max_devices_(max_devices_per_user), max_sessions_(max_sessions_per_user) {}
  // New caps (a reloaded config): they apply to the next admission; nobody admitted is turned out.
  void SetCaps(std::size_t max_devices_per_user, std::size_t max_sessions_per_user) {
    max_devices_ = max_devices_per_user;
    max_sessions_ = max_sessions_per_user;
  }

  struct Admission {
    Status status;
    // Offline sessions of this user, oldest first, to end now so the user stays within their session
    // cap; they are forgotten here already.
    std::vector<std::string> to_end;
    bool over_cap = false;  // refused for the device or session cap (not for the client id)
  };
  // Records `session` for `handle`. kNotAllowed when the client id is another user's (live or offline),
  // when the user already has max_devices_per_user other client ids connected, or, with `can_end_sessions`
  // false, when a new client id would pass max_sessions_per_user. A reaper session is admitted only while
  // its client id is not connected, and counts for nothing.
  Admission Admit(Handle handle, Session session, bool can_end_sessions = true);
  // The session of `handle`, or nullptr. The pointer is valid until the next call that changes the registry.
  const Session* Find(Handle handle) const;
  // The user whose session `handle` left behind when its connection ended, or nullptr.
  const std::string* FindOffline(Handle handle) const;
  // Marks `handle`'s session as logging out (no-op if unknown).
  void MarkLoggingOut(Handle handle);
  // Forgets `handle`'s connection (no-op if unknown); its session is remembered as offline if it may persist.
  void Remove(Handle handle);
  // Removes every connection of `user_id` as Remove does; returns how many there were.
  std::size_t RemoveUser(const std::string& user_id);
  // Forgets the offline sessions of `user_id` and returns their client ids (to end them).
  std::vector<std::string> TakeOfflineSessions(const std::string& user_id);
  // How many distinct client ids `user_id` has connected.
  std::size_t DeviceCount(const std::string& user_id) const;
  // Connected client ids plus offline sessions of `user_id`.
  std::size_t SessionCount(const std::string& user_id) const;
  // Live connections, the session reaper's included.
  std::size_t ConnectionCount() const { return sessions_.size(); }
  // Appends those client ids to `client_ids`: where an event for the user goes.
  void ClientIdsOf(const std::string& user_id, std::vector<std::string>* client_ids) const;

 private:
  struct Offline {
    std::string client_id;
    Handle handle;
    std::uint64_t order;  // when it went offline, to end the oldest first
  };
  void ForgetOffline(const std::string& user_id, const std::string& client_id);

  std::size_t max_devices_;
  std::size_t max_sessions_;
  std::unordered_map<Handle, Session> sessions_;
  // user -> client id -> number of live handles with it (2 only during a takeover).
  std::unordered_map<std::string, std::unordered_map<std::string, int>> devices_;
  std::unordered_map<std::string, std::vector<Offline>> offline_;  // user -> sessions left behind
  std::unordered_map<Handle, std::string> offline_users_;            // handle of an offline session -> user
  std::unordered_map<std::string, std::string> owners_;              // client id -> user, live or offline
  std::uint64_t next_order_ = 0;
};

}  // namespace chat::core
