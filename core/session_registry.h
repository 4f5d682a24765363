// SessionRegistry: the connections the plugin admitted, keyed by the broker's connection handle, with a
// cap on how many devices (distinct client ids) one user may have connected at once.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace chat::core {

struct Session {
  std::string user_id;
  std::string client_id;
  bool is_admin = false;
  bool is_service = false;  // a push bridge account
  bool said_bye = false;    // the device logged out before disconnecting
};

// Not thread-safe (broker thread only). Handles are opaque (the broker's `struct mosquitto *`): on a
// takeover the new connection is admitted before the old one with the same client id goes, so the
// client id alone cannot key a session.
class SessionRegistry {
 public:
  using Handle = const void*;
  explicit SessionRegistry(std::size_t max_devices_per_user) : max_devices_(max_devices_per_user) {}

  // Records `session` for `handle`. kNotAllowed when the user already has max_devices_per_user other
  // client ids connected (reconnecting with a client id that is connected counts as the same device).
  Status Admit(Handle handle, Session session);
  // The session of `handle`, or nullptr. The pointer is valid until the next call that changes the registry.
  const Session* Find(Handle handle) const;
  // Marks `handle`'s session as logging out (no-op if unknown).
  void MarkLoggingOut(Handle handle);
  // Forgets `handle` (no-op if unknown).
  void Remove(Handle handle);
  // Forgets every connection of `user_id`; returns how many there were.
  std::size_t RemoveUser(const std::string& user_id);
  // How many distinct client ids `user_id` has connected.
  std::size_t DeviceCount(const std::string& user_id) const;

 private:
  std::size_t max_devices_;
  std::unordered_map<Handle, Session> sessions_;
  // user -> client id -> number of live handles with it (2 only during a takeover).
  std::unordered_map<std::string, std::unordered_map<std::string, int>> devices_;
};

}  // namespace chat::core
