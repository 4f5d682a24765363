// MOSQ_EVT_CONTROL on $CONTROL/chat-admin/v1: operator tasks on the running server (core/admin_commands.h).
// The task runs on AdminJobRunner's thread; its answer goes out from a later TICK, to the requester only.
#include <exception>
#include <string>
#include <string_view>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "core/admin_commands.h"
#include "core/topic_format.h"
#include "plugins/broker_outbox.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {

int OnAdminControl(int /*event*/, void* event_data, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    auto* control = static_cast<mosquitto_evt_control*>(event_data);
    // The ACL already limits this topic to admins; checked again because this handler acts on the store.
    const core::Session* session = context->connections->Admin(control->client);
    if (session == nullptr) return MOSQ_ERR_ACL_DENIED;
    std::string client_id = session->client_id;
    std::string_view payload(static_cast<const char*>(control->payload), control->payloadlen);
    core::Result<core::AdminCommand> command = core::ParseAdminCommand(payload);
    core::AdminOutcome refused{command.status()};
    if (command.ok()) {
      command->cutoffs = context->RetentionCutoffsNow();
      if (!context->admin_jobs->Start(client_id, *command)) {
        refused.status = core::Status::Error(core::ErrorCode::kBusy,
                                             "another task (backup, stats, retention) is running; ask again shortly");
      }
    }
    if (!refused.status.ok()) {
      BrokerOutbox outbox(*context->waker);
      outbox.ToClient(client_id, std::string(core::kAdminControlResponseTopic),
                      core::AdminResponse(command.ok() ? *command : core::AdminCommand{}, refused));
    }
    return MOSQ_ERR_SUCCESS;
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: admin control: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: admin control: unknown exception");
  }
  return MOSQ_ERR_UNKNOWN;
}

}  // namespace chat::plugin
