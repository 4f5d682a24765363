#include "config/server_config.h"

#include "config/yaml_fields.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace chat::config {
namespace {

using core::ErrorCode;
using core::Status;

using Fields = std::map<std::string, FieldReader>;
using core::AuthSettings;
using core::Limits;
using core::PresenceSettings;
using core::PushSettings;
using core::SyncSettings;

// Every numeric setting with its valid range (core/settings.h gives each one's meaning and default).
const NumberSetting<ServerConfig> kTopLevel[] = {
    {"node_id", &ServerConfig::node_id, 0, 1023},
    {"min_free_disk_mb", &ServerConfig::min_free_disk_mb, 0, 1048576},
};
const NumberSetting<Limits> kLimits[] = {
    {"max_message_chars", &Limits::max_message_chars, 1, 1000000},
    {"max_history_page", &Limits::max_history_page, 1, 1000},
    {"send_rate_per_second", &Limits::send_rate_per_second, 1, 100000},
    {"send_burst", &Limits::send_burst, 1, 1000000},
    {"max_devices_per_user", &Limits::max_devices_per_user, 1, 1000},
    {"max_sessions_per_user", &Limits::max_sessions_per_user, 1, 10000},
    {"max_keepalive_seconds", &Limits::max_keepalive_seconds, 10, 3600},
    {"max_group_members", &Limits::max_group_members, 2, 10000},
    {"max_group_name_chars", &Limits::max_group_name_chars, 1, 1000},
    {"max_sync_page", &Limits::max_sync_page, 1, 10000},
    {"request_rate_per_second", &Limits::request_rate_per_second, 1, 100000},
    {"request_burst", &Limits::request_burst, 1, 1000000},
    {"max_groups_per_user", &Limits::max_groups_per_user, 1, 100000},
    {"max_pending_invites", &Limits::max_pending_invites, 1, 1000},
    {"max_reply_bytes", &Limits::max_reply_bytes, 16384, 1048576},
};
const NumberSetting<AuthSettings> kAuth[] = {
    {"pbkdf2_iterations", &AuthSettings::pbkdf2_iterations, 1000, 10000000},
    {"max_failed_logins", &AuthSettings::max_failed_logins, 1, 1000},
    {"failure_window_seconds", &AuthSettings::failure_window_seconds, 1, 86400},
    {"throttled_checks_per_second", &AuthSettings::throttled_checks_per_second, 0.01, 1000},
    {"credential_cache_entries", &AuthSettings::credential_cache_entries, 0, 10000000},
    {"inline_hash_rounds_per_second", &AuthSettings::inline_hash_rounds_per_second, 0, 1e9},
    {"hash_threads", &AuthSettings::hash_threads, 1, 16},
    {"max_pending_checks", &AuthSettings::max_pending_checks, 1, 100000},
    {"resume_token_days", &AuthSettings::resume_token_days, 0, 3650},
    {"max_resume_tokens_per_user", &AuthSettings::max_resume_tokens_per_user, 1, 1000},
};
const NumberSetting<PresenceSettings> kPresence[] = {
    {"heartbeat_seconds", &PresenceSettings::heartbeat_seconds, 1, 3600},
    {"timeout_seconds", &PresenceSettings::timeout_seconds, 1, 3600},
    {"push_group_limit", &PresenceSettings::push_group_limit, 0, 10000},
    {"typing_rate_per_second", &PresenceSettings::typing_rate_per_second, 0.1, 1000},
    {"typing_burst", &PresenceSettings::typing_burst, 1, 1000},
};
const NumberSetting<PushSettings> kPush[] = {
    {"preview_chars", &PushSettings::preview_chars, 0, 1000},
    {"collapse_seconds", &PushSettings::collapse_seconds, 0, 3600},
    {"lease_seconds", &PushSettings::lease_seconds, 5, 86400},
};
const NumberSetting<SyncSettings> kSync[] = {
    {"retention_days", &SyncSettings::retention_days, 0, 36500},
};

std::string ReadUserList(const YAML::Node& node, const std::string& key, std::vector<std::string>* out) {
  if (!node.IsSequence()) return KeyError(key, "must be a list of user ids");
  out->clear();
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) return KeyError(key, "must be a list of user ids");
    out->push_back(item.Scalar());
  }
  return "";
}

std::string ReadDurability(const YAML::Node& node, const std::string& key, core::Durability* out) {
  std::string value;
  if (std::string error = ReadString(node, key, &value); !error.empty()) return error;
  if (value == "process_crash") {
    *out = core::Durability::kProcessCrash;
  } else if (value == "power_loss") {
    *out = core::Durability::kPowerLoss;
  } else {
    return KeyError(key, "must be process_crash or power_loss, got \"" + value + "\"");
  }
  return "";
}

}  // namespace

core::Result<ServerConfig> ParseServerConfig(const std::string& yaml_text, const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::Error(ErrorCode::kInvalidArgument, std::string("not valid YAML: ") + e.what());
  }
  ServerConfig config;
  Fields limits = NumberFields(kLimits, &config.limits);
  Fields auth = NumberFields(kAuth, &config.auth);
  Fields presence = NumberFields(kPresence, &config.presence);
  Fields push = NumberFields(kPush, &config.push);
  push["service_accounts"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadUserList(n, k, &config.push.service_accounts);
  };
  Fields sync = NumberFields(kSync, &config.sync);
  Fields top = NumberFields(kTopLevel, &config);
  top["data_dir"] = [&](const YAML::Node& n, const std::string& k) { return ReadString(n, k, &config.data_dir); };
  top["durability"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadDurability(n, k, &config.durability);
  };
  top["limits"] = Section(limits);
  top["auth"] = Section(auth);
  top["presence"] = Section(presence);
  top["push"] = Section(push);
  top["sync"] = Section(sync);
  std::string error = root.IsNull() ? std::string() : ReadMapping(root, "", top);
  if (!error.empty()) return Status::Error(ErrorCode::kInvalidArgument, error);
  std::filesystem::path data_dir(config.data_dir);
  if (data_dir.is_relative()) data_dir = std::filesystem::path(base_dir) / data_dir;
  config.data_dir = data_dir.lexically_normal().string();
  return config;
}

core::Result<ServerConfig> LoadServerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error(ErrorCode::kInvalidArgument, "cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::path absolute = std::filesystem::absolute(path);
  core::Result<ServerConfig> config = ParseServerConfig(text.str(), absolute.parent_path().string());
  if (!config.ok()) return Status::Error(config.status().code(), path + ": " + config.status().message());
  return config;
}

}  // namespace chat::config
