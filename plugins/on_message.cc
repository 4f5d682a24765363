// MOSQ_EVT_MESSAGE: a client's request. Runs before the broker acknowledges the publish, so a request
// refused on sight is refused in the PUBACK too (MQTT 5); a send it accepts is stored later by the
// commit stage, and only its chat ack says so.
#include <exception>
#include <string_view>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "core/topic_format.h"
#include "plugins/broker_outbox.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {

int OnMessage(int /*event*/, void* event_data, void* user_data) noexcept {
  auto* message = static_cast<mosquitto_evt_message*>(event_data);
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    context->waker->LoopBusy();  // this loop pass ends with a TICK: no wake-up needed until then
    core::RequestOp op = context->connections->RequestOf(message->client, message->topic);
    if (op == core::RequestOp::kUnknown) return MOSQ_ERR_SUCCESS;  // not ours; the ACL already vetted it
    // A request is never kept as a retained message: it would hold one user's text in the broker.
    message->retain = false;
    BrokerOutbox outbox(*context->waker);
    std::string_view payload(static_cast<const char*>(message->payload), message->payloadlen);
    core::Status status = context->connections->Request(message->client, op, payload, outbox);
    // A rejected request is dropped: MQTT 5 senders see PUBACK 0x87, everyone gets the error reply.
    return status.ok() ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: message: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: message: unknown exception");
  }
  return MOSQ_ERR_ACL_DENIED;
}

}  // namespace chat::plugin
