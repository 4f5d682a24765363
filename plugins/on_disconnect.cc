// MOSQ_EVT_DISCONNECT: fires for every way a connection ends (clean, lost, keepalive expiry, takeover,
// refused login); forget the session.
extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {

int OnDisconnect(int /*event*/, void* event_data, void* user_data) noexcept {
  auto* context = static_cast<PluginContext*>(user_data);
  auto* disconnect = static_cast<mosquitto_evt_disconnect*>(event_data);
  context->sessions->Remove(disconnect->client);
  return MOSQ_ERR_SUCCESS;
}

}  // namespace chat::plugin
