#include "core/session_registry.h"

#include <algorithm>

namespace chat::core {

void SessionRegistry::ForgetOffline(const std::string& user_id, const std::string& client_id) {
  auto user = offline_.find(user_id);
  if (user == offline_.end()) return;
  auto& list = user->second;
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->client_id != client_id) continue;
    offline_users_.erase(it->handle);
    list.erase(it);
    break;
  }
  if (list.empty()) offline_.erase(user);
}

SessionRegistry::Admission SessionRegistry::Admit(Handle handle, Session session, bool can_end_sessions) {
  Remove(handle);
  Admission admission;
  auto owner = owners_.find(session.client_id);
  if (owner != owners_.end() && owner->second != session.user_id) {
    admission.status = Status::Error(ErrorCode::kNotAllowed, "client id in use by another account");
    return admission;
  }
  auto& devices = devices_[session.user_id];
  bool connected = devices.count(session.client_id) != 0;
  if (session.is_reaper) {
    if (connected) {
      if (devices.empty()) devices_.erase(session.user_id);
      admission.status = Status::Error(ErrorCode::kNotAllowed, "the session is connected again");
      return admission;
    }
    if (devices.empty()) devices_.erase(session.user_id);
    sessions_.emplace(handle, std::move(session));
    return admission;
  }
  if (!connected && devices.size() >= max_devices_) {
    if (devices.empty()) devices_.erase(session.user_id);
    admission.status = Status::Error(ErrorCode::kNotAllowed, "too many devices connected");
    admission.over_cap = true;
    return admission;
  }
  auto& offline = offline_[session.user_id];
  bool resuming = std::any_of(offline.begin(), offline.end(),
                              [&](const Offline& o) { return o.client_id == session.client_id; });
  if (!connected && !resuming) {
    std::size_t total = devices.size() + offline.size();
    if (total >= max_sessions_ && !can_end_sessions) {
      if (offline.empty()) offline_.erase(session.user_id);
      if (devices.empty()) devices_.erase(session.user_id);
      admission.status = Status::Error(ErrorCode::kNotAllowed, "too many sessions");
      admission.over_cap = true;
      return admission;
    }
    // The oldest offline sessions make room for the new one.
    std::sort(offline.begin(), offline.end(), [](const Offline& a, const Offline& b) { return a.order < b.order; });
    while (total >= max_sessions_ && !offline.empty()) {
      admission.to_end.push_back(offline.front().client_id);
      owners_.erase(offline.front().client_id);
      offline_users_.erase(offline.front().handle);
      offline.erase(offline.begin());
      --total;
    }
  }
  if (offline.empty()) offline_.erase(session.user_id);
  if (resuming) ForgetOffline(session.user_id, session.client_id);  // the broker resumes or replaces it
  ++devices[session.client_id];
  owners_[session.client_id] = session.user_id;
  sessions_.emplace(handle, std::move(session));
  return admission;
}

const Session* SessionRegistry::Find(Handle handle) const {
  auto it = sessions_.find(handle);
  return it == sessions_.end() ? nullptr : &it->second;
}

const std::string* SessionRegistry::FindOffline(Handle handle) const {
  auto it = offline_users_.find(handle);
  return it == offline_users_.end() ? nullptr : &it->second;
}

void SessionRegistry::MarkLoggingOut(Handle handle) {
  auto it = sessions_.find(handle);
  if (it != sessions_.end()) it->second.said_bye = true;
}

void SessionRegistry::Remove(Handle handle) {
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) return;
  const Session& session = it->second;
  if (!session.is_reaper) {
    bool still_connected = false;
    auto user = devices_.find(session.user_id);
    if (user != devices_.end()) {
      auto device = user->second.find(session.client_id);
      if (device != user->second.end() && --device->second == 0) user->second.erase(device);
      still_connected = user->second.count(session.client_id) != 0;
      if (user->second.empty()) devices_.erase(user);
    }
    if (!still_connected) {
      if (session.may_persist) {
        offline_[session.user_id].push_back({session.client_id, handle, ++next_order_});
        offline_users_[handle] = session.user_id;
      } else {
        owners_.erase(session.client_id);
      }
    }
  }
  sessions_.erase(it);
}

std::size_t SessionRegistry::RemoveUser(const std::string& user_id) {
  std::vector<Handle> handles;
  for (const auto& [handle, session] : sessions_) {
    if (session.user_id == user_id && !session.is_reaper) handles.push_back(handle);
  }
  for (Handle handle : handles) Remove(handle);
  return handles.size();
}

std::vector<std::string> SessionRegistry::TakeOfflineSessions(const std::string& user_id) {
  std::vector<std::string> client_ids;
  auto user = offline_.find(user_id);
  if (user == offline_.end()) return client_ids;
  for (const Offline& o : user->second) {
    client_ids.push_back(o.client_id);
    owners_.erase(o.client_id);
    offline_users_.erase(o.handle);
  }
  offline_.erase(user);
  return client_ids;
}

std::size_t SessionRegistry::DeviceCount(const std::string& user_id) const {
  auto it = devices_.find(user_id);
  return it == devices_.end() ? 0 : it->second.size();
}

std::size_t SessionRegistry::SessionCount(const std::string& user_id) const {
  auto offline = offline_.find(user_id);
  return DeviceCount(user_id) + (offline == offline_.end() ? 0 : offline->second.size());
}

void SessionRegistry::ClientIdsOf(const std::string& user_id, std::vector<std::string>* client_ids) const {
  if (auto devices = devices_.find(user_id); devices != devices_.end()) {
    for (const auto& [client_id, handles] : devices->second) client_ids->push_back(client_id);
  }
  if (auto offline = offline_.find(user_id); offline != offline_.end()) {
    for (const Offline& session : offline->second) client_ids->push_back(session.client_id);
  }
}

}  // namespace chat::core
