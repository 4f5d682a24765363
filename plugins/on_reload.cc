// MOSQ_EVT_RELOAD: Mosquitto got SIGHUP. The plugin is not initialised again, so it reads its own YAML
// file again and applies what can change at run time (config::PlanReload); a file that does not parse
// changes nothing. The log says which changes took effect and which wait for a restart.
#include <exception>
#include <string>
#include <vector>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "config/server_config.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {
namespace {

std::string Joined(const std::vector<std::string>& changes) {
  std::string out;
  for (const std::string& change : changes) out += (out.empty() ? "" : "; ") + change;
  return out;
}

}  // namespace

int OnReload(int /*event*/, void* /*event_data*/, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    auto from_file = config::LoadServerConfig(context->config_file);
    if (!from_file.ok()) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "chat: reload refused, the running settings stay: %s",
                           from_file.status().message().c_str());
      return MOSQ_ERR_SUCCESS;
    }
    config::Reloaded reloaded = context->Reload(*from_file);
    if (reloaded.applied.empty() && reloaded.need_restart.empty()) {
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "chat: reloaded %s: no setting changed", context->config_file.c_str());
    }
    if (!reloaded.applied.empty()) {
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "chat: reloaded %s: applied %s", context->config_file.c_str(),
                           Joined(reloaded.applied).c_str());
    }
    if (!reloaded.need_restart.empty()) {
      mosquitto_log_printf(MOSQ_LOG_WARNING, "chat: reloaded %s: these take effect at the next start: %s",
                           context->config_file.c_str(), Joined(reloaded.need_restart).c_str());
    }
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: reload: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: reload: unknown exception");
  }
  return MOSQ_ERR_SUCCESS;
}

}  // namespace chat::plugin
