// PluginContext: the plugin's one piece of state, created in mosquitto_plugin_init and handed to
// every callback through the API's user data.
#pragma once

#include <memory>
#include <string>

#include "config/server_config.h"
#include "core/account_service.h"
#include "core/authenticator.h"
#include "core/chat_service.h"
#include "core/clock.h"
#include "core/message_id.h"
#include "core/session_registry.h"
#include "core/store.h"

struct mosquitto;
typedef struct mosquitto_plugin_id_t mosquitto_plugin_id_t;

namespace chat::plugin {

struct PluginContext {
  // Builds everything from `config`; fails (naming the reason) if the store cannot be opened.
  static core::Result<std::unique_ptr<PluginContext>> Create(const config::ServerConfig& config);

  mosquitto_plugin_id_t* plugin_id = nullptr;
  config::ServerConfig config;
  core::SystemClock clock;
  std::unique_ptr<core::Store> store;
  std::unique_ptr<core::MessageIdGenerator> ids;
  std::unique_ptr<core::ChatService> chat;
  std::unique_ptr<core::Authenticator> authenticator;
  std::unique_ptr<core::AccountService> accounts;
  // The connections this plugin admitted, keyed by the broker's `struct mosquitto *`.
  std::unique_ptr<core::SessionRegistry> sessions;

  const core::Session* FindSession(const mosquitto* client) const { return sessions->Find(client); }
};

}  // namespace chat::plugin
