// MOSQ_EVT_DISCONNECT: fires for every way a connection ends (clean, lost, keepalive expiry, takeover,
// refused login) with no reason given in 2.0.11; core knows whether the device said "bye" first.
#include <exception>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "plugins/broker_outbox.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {

int OnDisconnect(int /*event*/, void* event_data, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    auto* disconnect = static_cast<mosquitto_evt_disconnect*>(event_data);
    BrokerOutbox outbox(*context->waker);
    context->connections->Disconnected(disconnect->client, outbox);
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: disconnect: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: disconnect: unknown exception");
  }
  return MOSQ_ERR_SUCCESS;
}

}  // namespace chat::plugin
