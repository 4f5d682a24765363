// MOSQ_EVT_BASIC_AUTH: fires once per CONNECT, before CONNACK. Reads the connection's credentials and
// settings, asks core whether to admit it, and answers: SUCCESS, AUTH (CONNACK "not authorized") or,
// while a password is checked off this thread, any other error, which makes Mosquitto 2.0 close the
// connection without a CONNACK; MQTT clients retry, and by then the check has run.
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

int OnBasicAuth(int /*event*/, void* event_data, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    auto* auth = static_cast<mosquitto_evt_basic_auth*>(event_data);
    if (auth->username == nullptr || auth->password == nullptr) return MOSQ_ERR_AUTH;  // no anonymous users
    const char* client_id = mosquitto_client_id(auth->client);
    const char* address = mosquitto_client_address(auth->client);
    core::LoginRequest request;
    request.handle = auth->client;
    request.username = auth->username;
    request.password = auth->password;
    request.client_id = client_id != nullptr ? client_id : "";
    request.address = address != nullptr ? address : "";
    request.keepalive_seconds = mosquitto_client_keepalive(auth->client);
    request.clean_start = mosquitto_client_clean_session(auth->client);
    request.protocol_version = mosquitto_client_protocol_version(auth->client);
    request.reaper = context->reaper != nullptr && context->reaper->IsReaperLogin(auth->password);
    BrokerOutbox outbox(*context->waker);
    core::LoginDecision decision = context->connections->Login(request, outbox);
    if (!decision.failure.ok()) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "chat: login check failed: %s", decision.failure.ToString().c_str());
    }
    context->EndSessions(auth->username, decision.sessions_to_end);
    switch (decision.verdict) {
      case core::LoginDecision::Verdict::kAdmit: return MOSQ_ERR_SUCCESS;
      case core::LoginDecision::Verdict::kTryAgain: return MOSQ_ERR_UNKNOWN;
      case core::LoginDecision::Verdict::kRefuse: return MOSQ_ERR_AUTH;
    }
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: basic auth: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: basic auth: unknown exception");
  }
  return MOSQ_ERR_AUTH;
}

}  // namespace chat::plugin
