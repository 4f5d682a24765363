// MOSQ_EVT_ACL_CHECK: runs for every subscribe, every incoming publish and every delivery, so it is
// a map lookup plus string compares and nothing more.
#include <exception>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "core/access_policy.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace chat::plugin {
namespace {

bool ToTopicAccess(int access, core::TopicAccess* out) {
  switch (access) {
    case MOSQ_ACL_READ: *out = core::TopicAccess::kRead; return true;
    case MOSQ_ACL_WRITE: *out = core::TopicAccess::kWrite; return true;
    case MOSQ_ACL_SUBSCRIBE: *out = core::TopicAccess::kSubscribe; return true;
    case MOSQ_ACL_UNSUBSCRIBE: *out = core::TopicAccess::kUnsubscribe; return true;
    default: return false;
  }
}

}  // namespace

int OnAclCheck(int /*event*/, void* event_data, void* user_data) noexcept {
  try {
    auto* context = static_cast<PluginContext*>(user_data);
    auto* check = static_cast<mosquitto_evt_acl_check*>(event_data);
    core::TopicAccess access;
    if (check->topic == nullptr || !ToTopicAccess(check->access, &access)) return MOSQ_ERR_ACL_DENIED;
    const char* username = mosquitto_client_username(check->client);
    return context->connections->MayAccess(check->client, username != nullptr ? username : "", access, check->topic,
                                           check->retain)
               ? MOSQ_ERR_SUCCESS
               : MOSQ_ERR_ACL_DENIED;
  } catch (...) {
    return MOSQ_ERR_ACL_DENIED;
  }
}

}  // namespace chat::plugin
