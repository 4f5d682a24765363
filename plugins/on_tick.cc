// MOSQ_EVT_TICK: once per broker loop pass (~10/s idle, thousands/s under load). Timer work (presence
// grace periods) is rate-limited inside the core; the time fields of the event are 0 in 2.0.11.
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

int OnTick(int /*event*/, void* /*event_data*/, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    context->waker->LoopMayWait();  // before the finished commits are looked at (see BrokerWaker)
    BrokerOutbox outbox(*context->waker);
    context->chat->OnTick(outbox);
    context->OnTick(outbox);
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: tick: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: tick: unknown exception");
  }
  return MOSQ_ERR_SUCCESS;
}

}  // namespace chat::plugin
