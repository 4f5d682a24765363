// ServerConfig: every setting of the chat plugin, typed, read once from the YAML file at start-up.
#pragma once

#include <cstdint>
#include <string>

#include "core/settings.h"
#include "core/status.h"

namespace chat::config {

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
  core::SyncSettings sync;
  core::PresenceSettings presence;
  core::PushSettings push;
  core::AuthSettings auth;
};

// Parses YAML text. `base_dir` resolves a relative data_dir. Unknown keys, wrong types and values out
// of range are errors whose message names the key, e.g. "limits.max_message_chars: must be 1..1000000".
core::Result<ServerConfig> ParseServerConfig(const std::string& yaml_text, const std::string& base_dir);

// Reads and parses the file at `path`.
core::Result<ServerConfig> LoadServerConfig(const std::string& path);

}  // namespace chat::config
