// PresenceService: the green dot. Turns connections, heartbeats and logouts into one retained presence
// message per change on chat/v1/presence/<user>, decides who may watch whom, answers presence queries
// and relays typing indicators.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/outbox.h"
#include "core/presence_tracker.h"
#include "core/protocol_format.h"
#include "core/service_context.h"
#include "core/topic_format.h"
#include "core/watch_permissions.h"

namespace chat::core {

// Not thread-safe; borrows `context` and `settings`.
class PresenceService {
 public:
  PresenceService(ServiceContext& context, const PresenceSettings& settings);

  // Broker events. A device of `user_id` was admitted / is gone (`clean`: it said "bye" first).
  void OnConnected(const std::string& user_id, Outbox& outbox);
  void OnDisconnected(const std::string& user_id, bool clean, Outbox& outbox);
  // A deleted account: its state goes and its retained presence message is cleared.
  void Forget(const std::string& user_id, Outbox& outbox);
  // Any request counts as a heartbeat: a user who had gone silent is shown online again.
  void OnActivity(const std::string& user_id, Outbox& outbox) {
    if (auto change = tracker_.Heartbeat(user_id)) Publish(*change, outbox);
  }
  // The settings it was given changed (a reloaded config): the timeout applies from each user's next deadline.
  void SettingsChanged() { tracker_.set_timeout_ms(static_cast<std::int64_t>(settings_.timeout_seconds) * 1000); }
  // Called on every broker TICK; does real work at most every 100 ms.
  void OnTick(Outbox& outbox);

  // Request handlers (see ChatService's request table): presence (query), typing, bye.
  Status Query(const Request& r);
  Status Typing(const Request& r);
  Status Bye(const Request& r);

  // True when `viewer` may see `user_id`'s presence: themselves, a contact, or a co-member who took part
  // in a group of at most push_group_limit members. A hash lookup once the viewer's set is built.
  bool MayWatch(const std::string& viewer, const std::string& user_id) { return watch_.MayWatch(viewer, user_id); }
  bool HasConnectedDevice(const std::string& user_id) const { return tracker_.HasConnectedDevice(user_id); }
  const PresenceSettings& settings() const { return settings_; }
  // The relationships of `users` changed (nullopt: anyone's): their permissions are looked up again.
  void ForgetPermissions(const std::optional<std::vector<std::string>>& users) {
    if (users) {
      watch_.Forget(*users);
    } else {
      watch_.ForgetAll();
    }
  }

 private:
  void Publish(const PresenceChange& change, Outbox& outbox);

  ServiceContext& context_;
  const PresenceSettings& settings_;
  PresenceTracker tracker_;
  std::int64_t next_expiry_check_ms_ = 0;
  WatchPermissions watch_;
};

}  // namespace chat::core
