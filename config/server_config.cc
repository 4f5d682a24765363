#include "config/server_config.h"

#include "config/yaml_fields.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
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

constexpr Reload kLive = Reload::kLive;

// Every numeric setting with its valid range, and kLive when a running server applies a new value on
// SIGHUP (core/settings.h gives each one's meaning and default). Those left out shape what is built at
// start-up (the store, the id generator, the password threads, the caches) or what is already stored.
const NumberSetting<ServerConfig> kTopLevel[] = {
    {"node_id", &ServerConfig::node_id, 0, 1023},
    {"min_free_disk_mb", &ServerConfig::min_free_disk_mb, 0, 1048576},
};
const NumberSetting<Limits> kLimits[] = {
    {"max_message_chars", &Limits::max_message_chars, 1, 1000000, kLive},
    {"max_history_page", &Limits::max_history_page, 1, 1000, kLive},
    {"send_rate_per_second", &Limits::send_rate_per_second, 1, 100000, kLive},
    {"send_burst", &Limits::send_burst, 1, 1000000, kLive},
    {"max_devices_per_user", &Limits::max_devices_per_user, 1, 1000, kLive},
    {"max_sessions_per_user", &Limits::max_sessions_per_user, 1, 10000, kLive},
    {"max_keepalive_seconds", &Limits::max_keepalive_seconds, 10, 3600, kLive},
    {"max_group_members", &Limits::max_group_members, 2, 10000, kLive},
    {"max_group_name_chars", &Limits::max_group_name_chars, 1, 1000, kLive},
    {"max_sync_page", &Limits::max_sync_page, 1, 10000, kLive},
    {"max_conversations_page", &Limits::max_conversations_page, 1, 1000, kLive},
    {"edit_window_seconds", &Limits::edit_window_seconds, 0, 31536000, kLive},
    {"max_search_page", &Limits::max_search_page, 1, 1000, kLive},
    {"request_rate_per_second", &Limits::request_rate_per_second, 1, 100000, kLive},
    {"request_burst", &Limits::request_burst, 1, 1000000, kLive},
    {"max_groups_per_user", &Limits::max_groups_per_user, 1, 100000, kLive},
    {"max_pending_invites", &Limits::max_pending_invites, 1, 1000, kLive},
    {"max_reply_bytes", &Limits::max_reply_bytes, 16384, 1048576, kLive},
};
const NumberSetting<AuthSettings> kAuth[] = {
    {"pbkdf2_iterations", &AuthSettings::pbkdf2_iterations, 1000, 10000000, kLive},
    {"max_failed_logins", &AuthSettings::max_failed_logins, 1, 1000, kLive},
    {"failure_window_seconds", &AuthSettings::failure_window_seconds, 1, 86400, kLive},
    {"throttled_checks_per_second", &AuthSettings::throttled_checks_per_second, 0.01, 1000, kLive},
    {"credential_cache_entries", &AuthSettings::credential_cache_entries, 0, 10000000},
    {"inline_hash_rounds_per_second", &AuthSettings::inline_hash_rounds_per_second, 0, 1e9, kLive},
    {"hash_threads", &AuthSettings::hash_threads, 1, 16},
    {"max_pending_checks", &AuthSettings::max_pending_checks, 1, 100000},
    {"resume_token_days", &AuthSettings::resume_token_days, 0, 3650, kLive},
    {"max_resume_tokens_per_user", &AuthSettings::max_resume_tokens_per_user, 1, 1000, kLive},
};
const NumberSetting<PresenceSettings> kPresence[] = {
    {"heartbeat_seconds", &PresenceSettings::heartbeat_seconds, 1, 3600, kLive},
    {"timeout_seconds", &PresenceSettings::timeout_seconds, 1, 3600, kLive},
    {"push_group_limit", &PresenceSettings::push_group_limit, 0, 10000},
    {"typing_rate_per_second", &PresenceSettings::typing_rate_per_second, 0.1, 1000, kLive},
    {"typing_burst", &PresenceSettings::typing_burst, 1, 1000, kLive},
};
const NumberSetting<PushSettings> kPush[] = {
    {"preview_chars", &PushSettings::preview_chars, 0, 1000, kLive},
    {"collapse_seconds", &PushSettings::collapse_seconds, 0, 3600, kLive},
    {"lease_seconds", &PushSettings::lease_seconds, 5, 86400, kLive},
};
const NumberSetting<core::RetentionSettings> kRetention[] = {
    {"history_days", &core::RetentionSettings::history_days, 0, 36500, kLive},
    {"queue_days", &core::RetentionSettings::queue_days, 0, 36500, kLive},
};
const NumberSetting<core::StorageSettings> kStorage[] = {
    {"block_cache_mb", &core::StorageSettings::block_cache_mb, 1, 65536},
    {"row_cache_mb", &core::StorageSettings::row_cache_mb, 0, 65536},
    {"write_buffer_mb", &core::StorageSettings::write_buffer_mb, 1, 4096},
};
const NumberSetting<ListenerSettings> kListeners[] = {
    {"mqtt_port", &ListenerSettings::mqtt_port, 1, 65535},
    {"websockets_port", &ListenerSettings::websockets_port, 0, 65535},
};
const NumberSetting<ClusterSettings> kCluster[] = {
    {"replicas", &ClusterSettings::replicas, 1, 5},
    {"append_retry_ms", &ClusterSettings::append_retry_ms, 100, 600000},
    {"start_timeout_seconds", &ClusterSettings::start_timeout_seconds, 1, 3600},
};
const NumberSetting<MetricsSettings> kMetrics[] = {
    {"port", &MetricsSettings::port, 0, 65535},
    {"sys_interval_seconds", &MetricsSettings::sys_interval_seconds, 0, 86400, kLive},
};
const NumberSetting<TlsSettings> kTls[] = {
    {"mqtt_port", &TlsSettings::mqtt_port, 1, 65535},
    {"websockets_port", &TlsSettings::websockets_port, 1, 65535},
};

// A path; a relative one is taken from `base_dir` (the config file's folder).
FieldReader PathField(const std::string& base_dir, std::string* out) {
  return [base_dir, out](const YAML::Node& node, const std::string& key) {
    if (std::string error = ReadString(node, key, out); !error.empty()) return error;
    std::filesystem::path path(*out);
    if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
    *out = path.lexically_normal().string();
    return std::string();
  };
}

// A list of non-empty scalars, each `what` ("user ids").
std::string ReadList(const YAML::Node& node, const std::string& key, const char* what, std::vector<std::string>* out) {
  if (!node.IsSequence()) return KeyError(key, std::string("must be a list of ") + what);
  out->clear();
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) return KeyError(key, std::string("must be a list of ") + what);
    out->push_back(item.Scalar());
  }
  return "";
}

// A JetStream stream name, or a subject to publish on: tokens of letters, digits, '-' and '_' (a subject's
// separated by '.'), so neither a wildcard nor a space makes every append fail.
std::string ReadNatsName(const YAML::Node& node, const std::string& key, bool subject, std::string* out) {
  std::string value;
  if (std::string error = ReadString(node, key, &value); !error.empty()) return error;
  bool ok = true;
  std::size_t token = 0;  // characters of the current token
  for (char c : value) {
    if (subject && c == '.') {
      ok &= token > 0;
      token = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      ++token;
    } else {
      ok = false;
    }
  }
  if (!ok || token == 0) {
    return KeyError(key, std::string("must be ") + (subject ? "dot-separated tokens" : "one token") +
                             " of letters, digits, - and _, got \"" + value + "\"");
  }
  *out = value;
  return "";
}

const char* DurabilityName(core::Durability durability) {
  return durability == core::Durability::kPowerLoss ? "power_loss" : "process_crash";
}

std::string ReadDurability(const YAML::Node& node, const std::string& key, core::Durability* out) {
  std::string value;
  if (std::string error = ReadString(node, key, &value); !error.empty()) return error;
  if (value == DurabilityName(core::Durability::kProcessCrash)) {
    *out = core::Durability::kProcessCrash;
  } else if (value == DurabilityName(core::Durability::kPowerLoss)) {
    *out = core::Durability::kPowerLoss;
  } else {
    return KeyError(key, "must be process_crash or power_loss, got \"" + value + "\"");
  }
  return "";
}

std::string Describe(const std::string& key, const std::string& from, const std::string& to) {
  return key + ": " + from + " -> " + to;
}

const char* BoolText(bool value) { return value ? "true" : "false"; }

// Takes each changed row of `table` from `from_file` into `out` when it is live, noting it either way.
template <typename Settings, std::size_t N>
void ReloadSection(const std::string& prefix, const NumberSetting<Settings> (&table)[N], const Settings& running,
                   const Settings& from_file, Settings* out, Reloaded* reloaded) {
  for (const NumberSetting<Settings>& row : table) {
    std::visit(
        [&](auto member) {
          if (running.*member == from_file.*member) return;
          std::string change =
              Describe(prefix + row.key, NumberText(running.*member), NumberText(from_file.*member));
          if (row.reload == Reload::kLive) {
            out->*member = from_file.*member;
            reloaded->applied.push_back(change);
          } else {
            reloaded->need_restart.push_back(change);
          }
        },
        row.field);
  }
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& item : items) out += (out.size() > 1 ? ", " : "") + item;
  return out + "]";
}

}  // namespace

Reloaded PlanReload(const ServerConfig& running, const ServerConfig& from_file) {
  Reloaded reloaded{running, {}, {}};
  ServerConfig& out = reloaded.config;
  ReloadSection("", kTopLevel, running, from_file, &out, &reloaded);
  ReloadSection("limits.", kLimits, running.limits, from_file.limits, &out.limits, &reloaded);
  ReloadSection("auth.", kAuth, running.auth, from_file.auth, &out.auth, &reloaded);
  ReloadSection("presence.", kPresence, running.presence, from_file.presence, &out.presence, &reloaded);
  ReloadSection("push.", kPush, running.push, from_file.push, &out.push, &reloaded);
  ReloadSection("retention.", kRetention, running.retention, from_file.retention, &out.retention, &reloaded);
  ReloadSection("metrics.", kMetrics, running.metrics, from_file.metrics, &out.metrics, &reloaded);
  // The store and who may act as the push bridge are fixed at start-up.
  if (running.data_dir != from_file.data_dir) {
    reloaded.need_restart.push_back(Describe("data_dir", running.data_dir, from_file.data_dir));
  }
  if (running.durability != from_file.durability) {
    reloaded.need_restart.push_back(
        Describe("durability", DurabilityName(running.durability), DurabilityName(from_file.durability)));
  }
  ReloadSection("storage.", kStorage, running.storage, from_file.storage, &out.storage, &reloaded);
  // Listeners are Mosquitto's, opened at its start (a SIGHUP does not reopen them).
  ReloadSection("listeners.", kListeners, running.listeners, from_file.listeners, &out.listeners, &reloaded);
  ReloadSection("tls.", kTls, running.tls, from_file.tls, &out.tls, &reloaded);
  const std::pair<const char*, std::pair<std::string, std::string>> kListenerTexts[] = {
      {"listeners.address", {running.listeners.address, from_file.listeners.address}},
      {"listeners.plain_on_network",
       {BoolText(running.listeners.plain_on_network), BoolText(from_file.listeners.plain_on_network)}},
      {"tls.address", {running.tls.address, from_file.tls.address}},
      {"metrics.address", {running.metrics.address, from_file.metrics.address}},
      {"tls.cert_file", {running.tls.cert_file, from_file.tls.cert_file}},
      {"tls.key_file", {running.tls.key_file, from_file.tls.key_file}},
      {"tls.client_ca_file", {running.tls.client_ca_file, from_file.tls.client_ca_file}},
  };
  for (const auto& [key, values] : kListenerTexts) {
    if (values.first != values.second) reloaded.need_restart.push_back(Describe(key, values.first, values.second));
  }
  ReloadSection("cluster.", kCluster, running.cluster, from_file.cluster, &out.cluster, &reloaded);
  if (running.cluster.nats_servers != from_file.cluster.nats_servers) {
    reloaded.need_restart.push_back(Describe("cluster.nats_servers", Joined(running.cluster.nats_servers),
                                             Joined(from_file.cluster.nats_servers)));
  }
  if (running.cluster.stream != from_file.cluster.stream || running.cluster.subject != from_file.cluster.subject) {
    reloaded.need_restart.push_back(Describe("cluster.stream/subject",
                                             running.cluster.stream + " " + running.cluster.subject,
                                             from_file.cluster.stream + " " + from_file.cluster.subject));
  }
  if (running.push.service_accounts != from_file.push.service_accounts) {
    reloaded.need_restart.push_back(Describe("push.service_accounts", Joined(running.push.service_accounts),
                                             Joined(from_file.push.service_accounts)));
  }
  return reloaded;
}

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
    return ReadList(n, k, "user ids", &config.push.service_accounts);
  };
  Fields retention = NumberFields(kRetention, &config.retention);
  Fields metrics = NumberFields(kMetrics, &config.metrics);
  metrics["address"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadIpAddress(n, k, &config.metrics.address);
  };
  Fields top = NumberFields(kTopLevel, &config);
  top["data_dir"] = [&](const YAML::Node& n, const std::string& k) { return ReadString(n, k, &config.data_dir); };
  top["durability"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadDurability(n, k, &config.durability);
  };
  top["limits"] = Section(limits);
  top["auth"] = Section(auth);
  top["presence"] = Section(presence);
  top["push"] = Section(push);
  top["retention"] = Section(retention);
  top["metrics"] = Section(metrics);
  Fields listeners = NumberFields(kListeners, &config.listeners);
  listeners["address"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadString(n, k, &config.listeners.address);
  };
  listeners["plain_on_network"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadBool(n, k, &config.listeners.plain_on_network);
  };
  Fields tls = NumberFields(kTls, &config.tls);
  tls["address"] = [&](const YAML::Node& n, const std::string& k) { return ReadString(n, k, &config.tls.address); };
  tls["cert_file"] = PathField(base_dir, &config.tls.cert_file);
  tls["key_file"] = PathField(base_dir, &config.tls.key_file);
  tls["client_ca_file"] = PathField(base_dir, &config.tls.client_ca_file);
  Fields storage = NumberFields(kStorage, &config.storage);
  top["storage"] = Section(storage);
  top["listeners"] = Section(listeners);
  Fields cluster = NumberFields(kCluster, &config.cluster);
  cluster["nats_servers"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadList(n, k, "NATS server URLs (nats://host:port)", &config.cluster.nats_servers);
  };
  cluster["stream"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadNatsName(n, k, /*subject=*/false, &config.cluster.stream);
  };
  cluster["subject"] = [&](const YAML::Node& n, const std::string& k) {
    return ReadNatsName(n, k, /*subject=*/true, &config.cluster.subject);
  };
  bool cluster_given = false;
  top["cluster"] = [&, section = Section(cluster)](const YAML::Node& n, const std::string& k) {
    cluster_given = true;
    return section(n, k);
  };
  top["tls"] = Section(tls);
  std::string error = root.IsNull() ? std::string() : ReadMapping(root, "", top);
  if (error.empty() && config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    error = "tls: cert_file and key_file go together";
  }
  if (error.empty() && cluster_given && !config.cluster.enabled()) {
    error = "cluster.nats_servers: a cluster node needs the log's servers";
  }
  if (error.empty() && !config.tls.enabled() && !config.tls.client_ca_file.empty()) {
    error = "tls.client_ca_file: needs tls.cert_file and tls.key_file";
  }
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
