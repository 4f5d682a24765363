#include "core/session_registry.h"

namespace chat::core {

Status SessionRegistry::Admit(Handle handle, Session session) {
  Remove(handle);
  auto& devices = devices_[session.user_id];
  if (devices.find(session.client_id) == devices.end() && devices.size() >= max_devices_) {
    if (devices.empty()) devices_.erase(session.user_id);
    return Status::Error(ErrorCode::kNotAllowed, "too many devices connected");
  }
  ++devices[session.client_id];
  sessions_.emplace(handle, std::move(session));
  return Status::Ok();
}

const Session* SessionRegistry::Find(Handle handle) const {
  auto it = sessions_.find(handle);
  return it == sessions_.end() ? nullptr : &it->second;
}

void SessionRegistry::MarkLoggingOut(Handle handle) {
  auto it = sessions_.find(handle);
  if (it != sessions_.end()) it->second.said_bye = true;
}

void SessionRegistry::Remove(Handle handle) {
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) return;
  auto user = devices_.find(it->second.user_id);
  if (user != devices_.end()) {
    auto device = user->second.find(it->second.client_id);
    if (device != user->second.end() && --device->second == 0) user->second.erase(device);
    if (user->second.empty()) devices_.erase(user);
  }
  sessions_.erase(it);
}

std::size_t SessionRegistry::RemoveUser(const std::string& user_id) {
  std::vector<Handle> handles;
  for (const auto& [handle, session] : sessions_) {
    if (session.user_id == user_id) handles.push_back(handle);
  }
  for (Handle handle : handles) Remove(handle);
  return handles.size();
}

std::size_t SessionRegistry::DeviceCount(const std::string& user_id) const {
  auto it = devices_.find(user_id);
  return it == devices_.end() ? 0 : it->second.size();
}

}  // namespace chat::core
