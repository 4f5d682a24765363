// The YAML configs: the server's (config/chat.yaml) and the push bridge's (config/bridge.yaml), each
// input given to both parsers (they share config/yaml_fields). A config is operator input, but a typo
// must end in a message naming the key, never a crash, and what is accepted must hold up where it is
// used: message ids, request bounds, the bridge's client id and subscription, its retry budget.
#include <filesystem>
#include <string>

#include "bridge/bridge_config.h"
#include "config/server_config.h"
#include "core/access_policy.h"
#include "core/message_id.h"
#include "core/names.h"
#include "core/protocol_format.h"
#include "core/push_providers.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat {
namespace {

// Relative paths in the configs are taken from here.
const std::string kBaseDir = "/etc/chat";

void CheckPath(const std::string& path) {
  if (path.empty()) return;
  std::filesystem::path parsed(path);
  FUZZ_CHECK(parsed.is_absolute());
  FUZZ_CHECK(parsed.lexically_normal() == parsed);
}

void CheckServerConfig(const std::string& text) {
  core::Result<config::ServerConfig> parsed = config::ParseServerConfig(text, kBaseDir);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return;
  }
  const config::ServerConfig& config = *parsed;
  CheckPath(config.data_dir);
  FUZZ_CHECK(config.node_id <= core::MessageIdGenerator::kMaxNodeId);
  // The request bounds grow with the limits; they must not wrap around.
  core::RequestBounds send = core::RequestBoundsFor(/*is_send=*/true, config.limits);
  FUZZ_CHECK(send.max_bytes > config.limits.max_message_chars);
  for (const std::string& account : config.push.service_accounts) FUZZ_CHECK(!account.empty());
}

void CheckBridgeConfig(const std::string& text) {
  bridge::BridgeConfig config;
  core::Status status = bridge::ParseBridgeConfig(text, kBaseDir, &config);
  if (!status.ok()) {
    FUZZ_CHECK(!status.message().empty());
    return;
  }
  // The server must accept the client id the bridge connects with, and its shared subscription.
  std::string client_id = config.username + ":" + config.device;
  FUZZ_CHECK(core::DeviceIdForClient(config.username, client_id).ok());
  std::string filter = "$share/" + config.share_group + "/" + std::string(core::kPushJobsTopic);
  FUZZ_CHECK(core::IsAllowed({config.username, false, /*is_service=*/true}, core::TopicAccess::kSubscribe, filter));
  // A target is never still being retried when the server's lease gives the job to someone else.
  FUZZ_CHECK(bridge::WorstCaseTargetMillis(config) <= std::int64_t{config.lease_seconds} * 1000 - bridge::kLeaseMarginMs);
  FUZZ_CHECK(!config.providers.empty());
  for (const auto& [name, provider] : config.providers) {
    FUZZ_CHECK(core::IsKnownPushProvider(name));
    FUZZ_CHECK(provider.url.rfind("https://", 0) == 0);
    CheckPath(provider.ca_file);
    for (const auto& [header, value] : provider.headers) {
      FUZZ_CHECK(value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    }
  }
  CheckPath(config.password_file);
  CheckPath(config.journal_file);
}

}  // namespace
}  // namespace chat

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(chat::fuzz::AsText(data, size));
  chat::CheckServerConfig(text);
  chat::CheckBridgeConfig(text);
  return 0;
}
