// The plugin's Mosquitto event callbacks, one per event, each in its own on_<event>.cc file.
// Every callback is noexcept: an exception escaping into the broker would abort it.
#pragma once

namespace chat::plugin {

int OnBasicAuth(int event, void* event_data, void* user_data) noexcept;
int OnAclCheck(int event, void* event_data, void* user_data) noexcept;
int OnMessage(int event, void* event_data, void* user_data) noexcept;
int OnControl(int event, void* event_data, void* user_data) noexcept;
int OnAdminControl(int event, void* event_data, void* user_data) noexcept;
int OnDisconnect(int event, void* event_data, void* user_data) noexcept;
int OnTick(int event, void* event_data, void* user_data) noexcept;
int OnReload(int event, void* event_data, void* user_data) noexcept;

}  // namespace chat::plugin
