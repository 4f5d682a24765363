// MOSQ_EVT_CONTROL on $CONTROL/chat-accounts/v1: account administration by an admin account. The
// response goes to the requesting client only, so other admins never see passwords' outcomes.
#include <exception>
#include <string>
#include <string_view>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "core/account_commands.h"
#include "core/topic_format.h"
#include "plugins/broker_outbox.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {

int OnControl(int /*event*/, void* event_data, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    auto* control = static_cast<mosquitto_evt_control*>(event_data);
    // The ACL already limits this topic to admins; checked again because this handler changes accounts.
    const core::Session* session = context->connections->Admin(control->client);
    if (session == nullptr) return MOSQ_ERR_ACL_DENIED;
    std::string client_id = session->client_id;  // the session may go if the admin changes their own account
    std::string_view payload(static_cast<const char*>(control->payload), control->payloadlen);
    std::string response = core::RunAccountCommands(*context->accounts, payload);
    BrokerOutbox outbox(*context->waker);
    outbox.ToClient(client_id, std::string(core::kAccountsControlResponseTopic), std::move(response));
    return MOSQ_ERR_SUCCESS;
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: control: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: control: unknown exception");
  }
  return MOSQ_ERR_UNKNOWN;
}

}  // namespace chat::plugin
