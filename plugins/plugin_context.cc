#include "plugins/plugin_context.h"

#include <filesystem>
#include <system_error>

#include "plugins/broker_outbox.h"
#include "storage/rocksdb_store.h"

extern "C" {
#include <mosquitto_broker.h>
}

namespace chat::plugin {

core::Result<std::unique_ptr<PluginContext>> PluginContext::Create(const config::ServerConfig& config) {
  auto context = std::make_unique<PluginContext>();
  context->config = config;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return core::Status::Error(core::ErrorCode::kIoError,
                               "cannot create data_dir " + config.data_dir + ": " + ec.message());
  }
  auto store = storage::RocksDbStore::Open(config.data_dir, config.durability);
  if (!store.ok()) return store.status();
  context->store = std::move(*store);
  core::Result<core::MessageId> floor = context->store->LargestMessageId();
  if (!floor.ok()) return floor.status();
  context->ids = std::make_unique<core::MessageIdGenerator>(context->clock, config.node_id, *floor);
  context->chat = std::make_unique<core::ChatService>(*context->store, context->clock, *context->ids,
                                                      context->config.limits, context->config.sync, context->config.presence,
                                                      context->config.push);
  if (core::Status started = context->chat->Start(); !started.ok()) return started;
  context->authenticator =
      std::make_unique<core::Authenticator>(*context->store, context->clock, context->config.auth);
  context->sessions = std::make_unique<core::SessionRegistry>(config.limits.max_devices_per_user);
  PluginContext* raw = context.get();
  context->accounts = std::make_unique<core::AccountService>(
      *context->store, context->clock, context->config.auth, [raw](const std::string& user_id) {
        // A deleted account or a changed password ends the user's live connections at once (as
        // Mosquitto's dynamic-security plugin does): they logged in with credentials that no longer hold.
        raw->authenticator->Forget(user_id);
        std::size_t connections = raw->sessions->RemoveUser(user_id);
        mosquitto_kick_client_by_username(user_id.c_str(), false);
        // The DISCONNECTs that follow find no session: account for the devices here.
        BrokerOutbox outbox;
        for (std::size_t i = 0; i < connections; ++i) raw->chat->presence().OnDisconnected(user_id, true, outbox);
      });
  return context;
}

}  // namespace chat::plugin
