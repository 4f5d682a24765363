// MOSQ_EVT_BASIC_AUTH: admit known users with the right password and a client id bound to them.
#include <cstdint>
#include <exception>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "core/names.h"
#include "plugins/broker_outbox.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {

int OnBasicAuth(int /*event*/, void* event_data, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    auto* auth = static_cast<mosquitto_evt_basic_auth*>(event_data);
    if (auth->username == nullptr || auth->password == nullptr) return MOSQ_ERR_AUTH;  // no anonymous users
    const char* client_id = mosquitto_client_id(auth->client);
    if (client_id == nullptr || !core::DeviceIdForClient(auth->username, client_id).ok()) return MOSQ_ERR_AUTH;
    // Keepalive 0 never times out in Mosquitto 2.0.11 and max_keepalive does not bind MQTT 3.1.1
    // clients, so a silent client could hold its connection forever.
    int keepalive = mosquitto_client_keepalive(auth->client);
    if (keepalive <= 0 || static_cast<std::uint32_t>(keepalive) > context->config.limits.max_keepalive_seconds) {
      return MOSQ_ERR_AUTH;
    }
    auto login = context->authenticator->Authenticate(auth->username, auth->password);
    if (!login.ok()) {
      if (login.status().code() != core::ErrorCode::kNotAllowed) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "chat: login check failed: %s", login.status().ToString().c_str());
      }
      return MOSQ_ERR_AUTH;
    }
    core::Session session{auth->username, client_id, login->is_admin};
    session.is_service = context->chat->push().IsServiceAccount(auth->username);
    core::Status admitted = context->sessions->Admit(auth->client, std::move(session));
    if (!admitted.ok()) return MOSQ_ERR_AUTH;
    // Mosquitto 2.0 has no connect event: a successful login is the connect. If the CONNACK still fails,
    // DISCONNECT follows and undoes it.
    BrokerOutbox outbox;
    context->chat->presence().OnConnected(auth->username, outbox);
    return MOSQ_ERR_SUCCESS;
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: basic auth: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: basic auth: unknown exception");
  }
  return MOSQ_ERR_AUTH;
}

}  // namespace chat::plugin
