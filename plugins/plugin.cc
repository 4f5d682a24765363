// The chat plugin's entry points: version, init (read config, build the context, register one callback
// per event) and cleanup (unregister the same list, free the context).
#include <malloc.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#include "config/server_config.h"
#include "core/topic_format.h"
#include "plugins/event_handlers.h"
#include "plugins/plugin_context.h"

namespace {

using chat::plugin::PluginContext;

struct Registration {
  int event;
  MOSQ_FUNC_generic_callback callback;
  const char* event_data;
};

const std::string kControlTopic(chat::core::kAccountsControlTopic);
const std::string kAdminTopic(chat::core::kAdminControlTopic);

const Registration kRegistrations[] = {
    {MOSQ_EVT_BASIC_AUTH, chat::plugin::OnBasicAuth, nullptr},
    {MOSQ_EVT_ACL_CHECK, chat::plugin::OnAclCheck, nullptr},
    {MOSQ_EVT_MESSAGE, chat::plugin::OnMessage, nullptr},
    {MOSQ_EVT_CONTROL, chat::plugin::OnControl, kControlTopic.c_str()},
    {MOSQ_EVT_CONTROL, chat::plugin::OnAdminControl, kAdminTopic.c_str()},
    {MOSQ_EVT_DISCONNECT, chat::plugin::OnDisconnect, nullptr},
    {MOSQ_EVT_TICK, chat::plugin::OnTick, nullptr},
    {MOSQ_EVT_RELOAD, chat::plugin::OnReload, nullptr},
};

void Unregister(PluginContext* context, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const Registration& r = kRegistrations[i];
    mosquitto_callback_unregister(context->plugin_id, r.event, r.callback, r.event_data);
  }
}

// RocksDB allocates its write buffers in blocks of up to 1 MB and frees a whole buffer's blocks at once
// after a flush. glibc raises its mmap threshold to the size of the first such block freed; from then on
// they come from its heaps, where the freed space is rarely at a heap's top and so stays resident, and
// each thread that allocates gets a heap of its own (up to 8 per core). chat-soak showed the broker's
// resident memory growing past its budget run after run that way. A fixed threshold keeps every write
// buffer block a mapping of its own, returned when freed; two arenas keep the threads' small freed blocks
// in fewer heaps. The threshold is 512 KiB, not glibc's initial 128 KiB: below it are the copies of a
// large message (up to 400 KB of text, made several times on its way), which as mappings cost an mmap,
// a page fault per 4 KB and an munmap each (chat-bench large, a 300 KB message's round trip, p50: 4.5 ms
// with glibc's own sliding threshold, 27.6 ms with 128 KiB, 12.5 ms with 512 KiB).
// These are the process's settings: the broker runs for this plugin, and set before the store opens,
// they apply to all its memory.
void KeepFreedMemoryReturnable() {
  mallopt(M_MMAP_THRESHOLD, 512 * 1024);
  mallopt(M_ARENA_MAX, 2);
}

const char* FindOption(mosquitto_opt* options, int count, const char* key) {
  for (int i = 0; i < count; ++i) {
    if (options[i].key != nullptr && std::string(options[i].key) == key) return options[i].value;
  }
  return nullptr;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int mosquitto_plugin_version(int count, const int* versions) {
  for (int i = 0; i < count; ++i) {
    if (versions[i] == 5) return 5;
  }
  return -1;
}

__attribute__((visibility("default"))) int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** user_data,
                                                                 mosquitto_opt* options, int option_count) {
  try {
    KeepFreedMemoryReturnable();
    const char* config_file = FindOption(options, option_count, "config_file");
    if (config_file == nullptr) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "chat: plugin_opt_config_file is required");
      return MOSQ_ERR_INVAL;
    }
    auto config = chat::config::LoadServerConfig(config_file);
    if (!config.ok()) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "chat: bad config: %s", config.status().message().c_str());
      return MOSQ_ERR_INVAL;
    }
    // plugin_opt_local_listener HOST:PORT names a plain MQTT listener of this broker, through which
    // offline sessions past a user's cap are ended; without it such logins are refused instead.
    chat::plugin::LocalListener listener;
    if (const char* local = FindOption(options, option_count, "local_listener")) {
      std::string value(local);
      auto colon = value.rfind(':');
      int port = colon == std::string::npos ? 0 : std::atoi(value.c_str() + colon + 1);
      if (colon == std::string::npos || port <= 0 || port > 65535) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "chat: plugin_opt_local_listener must be HOST:PORT, got %s", local);
        return MOSQ_ERR_INVAL;
      }
      listener = {value.substr(0, colon), port};
    }
    // The one place the real clock is chosen: everything below reads time through the one it is given.
    static const chat::core::SystemClock system_clock;
    auto context = PluginContext::Create(*config, listener, system_clock);
    if (!context.ok()) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "chat: cannot start: %s", context.status().ToString().c_str());
      return MOSQ_ERR_UNKNOWN;
    }
    PluginContext* ctx = context->release();
    ctx->plugin_id = identifier;
    ctx->config_file = config_file;
    std::size_t registered = 0;
    for (const Registration& r : kRegistrations) {
      int rc = mosquitto_callback_register(identifier, r.event, r.callback, r.event_data, ctx);
      if (rc != MOSQ_ERR_SUCCESS) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "chat: cannot register callback for event %d (%d)", r.event, rc);
        Unregister(ctx, registered);
        delete ctx;
        return rc;
      }
      ++registered;
    }
    *user_data = ctx;
    mosquitto_log_printf(MOSQ_LOG_INFO, "chat: started; data in %s, node %u", ctx->config.data_dir.c_str(),
                         ctx->config.node_id);
    return MOSQ_ERR_SUCCESS;
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: init failed: %s", e.what());
  } catch (...) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: init failed");
  }
  return MOSQ_ERR_UNKNOWN;
}

__attribute__((visibility("default"))) int mosquitto_plugin_cleanup(void* user_data, mosquitto_opt* /*options*/,
                                                                    int /*option_count*/) {
  auto* context = static_cast<PluginContext*>(user_data);
  if (context == nullptr) return MOSQ_ERR_SUCCESS;
  Unregister(context, std::size(kRegistrations));
  delete context;
  return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
