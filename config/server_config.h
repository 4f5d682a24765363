// ServerConfig: every setting of the chat plugin, typed, read once from the YAML file at start-up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/settings.h"
#include "core/status.h"

namespace chat::config {

// Mosquitto's plain listeners, written into mosquitto.conf (config/mosquitto_conf.h); the plugin itself
// reaches the MQTT one for its session reaper.
struct ListenerSettings {
  std::string address = "127.0.0.1";
  std::uint32_t mqtt_port = 1883;
  std::uint32_t websockets_port = 8080;
  // Plain text on an address other than loopback carries passwords in the clear: only when this says so.
  bool plain_on_network = false;
};

// Mosquitto's TLS listeners (MQTT and WebSocket, TLS 1.2 or later), present when cert_file is set.
// Relative paths are taken from the config file's folder.
struct TlsSettings {
  std::string address = "0.0.0.0";
  std::uint32_t mqtt_port = 8883;
  std::uint32_t websockets_port = 8443;
  std::string cert_file;  // the server's certificate chain, PEM
  std::string key_file;   // its private key, PEM
  // When set, every TLS client must present a certificate signed by this CA (besides its password).
  std::string client_ca_file;
  bool enabled() const { return !cert_file.empty(); }
};

// The plugin's metrics (core/server_metrics.h): Prometheus text at http://address:port/metrics, served
// by a thread of the plugin, and $SYS/broker/chat/... topics for Mosquitto users (admins may read them).
struct MetricsSettings {
  std::string address = "127.0.0.1";  // counts only, no user data; still, keep it off the internet
  std::uint32_t port = 0;              // 0: no HTTP endpoint
  std::uint32_t sys_interval_seconds = 10;  // 0: no $SYS topics
};

// A cluster node (docs/SCALING.md): its changes go to a replicated log, a NATS JetStream stream, before
// they are acknowledged. On when nats_servers is set; a single server has no cluster section.
struct ClusterSettings {
  std::vector<std::string> nats_servers;  // nats://host:port of the JetStream cluster's servers
  std::string stream = "CHAT_LOG";         // created with `replicas` replicas when missing
  std::string subject = "chat.log";
  std::uint32_t replicas = 3;
  // An append the log has not confirmed in this time is appended again (under the same id: stored once).
  std::uint32_t append_retry_ms = 2000;
  // How long the start waits for NATS and for the log outbox to be appended before it gives up.
  std::uint32_t start_timeout_seconds = 30;
  bool enabled() const { return !nats_servers.empty(); }
  bool operator==(const ClusterSettings&) const = default;
};

struct ServerConfig {
  // Folder of the RocksDB database. A relative path is taken from the config file's folder.
  // Default "data".
  std::string data_dir = "data";
  // This server's id inside message ids (unique per server in a cluster). Default 1.
  std::uint32_t node_id = 1;
  // Default process_crash; or power_loss (fsync every write).
  core::Durability durability = core::Durability::kProcessCrash;
  // Writes are refused (storage_error) while the disk holding data_dir has less free space than this:
  // RocksDB is never driven into a full disk, and writes go on by themselves once there is room.
  std::uint32_t min_free_disk_mb = 64;
  core::Limits limits;
  core::RetentionSettings retention;
  core::PresenceSettings presence;
  core::PushSettings push;
  core::AuthSettings auth;
  core::StorageSettings storage;
  ListenerSettings listeners;
  TlsSettings tls;
  MetricsSettings metrics;
  ClusterSettings cluster;
};

// Parses YAML text. `base_dir` resolves a relative data_dir. Unknown keys, wrong types and values out
// of range are errors whose message names the key, e.g. "limits.max_message_chars: must be 1..1000000".
core::Result<ServerConfig> ParseServerConfig(const std::string& yaml_text, const std::string& base_dir);

// Reads and parses the file at `path`.
core::Result<ServerConfig> LoadServerConfig(const std::string& path);

// What re-reading the file (SIGHUP) does to a running server's settings.
struct Reloaded {
  // The settings to run with: the file's values of those a running server applies at once (limits,
  // rates, presence and push timers, login throttling), the running ones of all others.
  ServerConfig config;
  // Each changed setting as "key: old -> new": those applied, and those that wait for a restart.
  std::vector<std::string> applied;
  std::vector<std::string> need_restart;
};
Reloaded PlanReload(const ServerConfig& running, const ServerConfig& from_file);

}  // namespace chat::config
