#include "config/server_config.h"

#include "config/yaml_fields.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

namespace chat::config {
namespace {

using core::ErrorCode;
using core::Status;

std::string ReadLimits(const YAML::Node& node, const std::string& path, core::Limits* limits) {
  return ReadMapping(node, path,
                     {{"max_message_chars",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 1000000, &limits->max_message_chars);
                       }},
                      {"max_history_page",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 1000, &limits->max_history_page);
                       }},
                      {"send_rate_per_second",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<double>(n, k, 1, 100000, &limits->send_rate_per_second);
                       }},
                      {"send_burst",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<double>(n, k, 1, 1000000, &limits->send_burst);
                       }},
                      {"max_devices_per_user",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 1000, &limits->max_devices_per_user);
                       }},
                      {"max_sessions_per_user",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 10000, &limits->max_sessions_per_user);
                       }},
                      {"max_keepalive_seconds",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::uint32_t>(n, k, 10, 3600, &limits->max_keepalive_seconds);
                       }},
                      {"max_group_members",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 2, 10000, &limits->max_group_members);
                       }},
                      {"max_group_name_chars",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 1000, &limits->max_group_name_chars);
                       }},
                      {"max_sync_page",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 10000, &limits->max_sync_page);
                       }},
                      {"request_rate_per_second",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<double>(n, k, 1, 100000, &limits->request_rate_per_second);
                       }},
                      {"request_burst",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<double>(n, k, 1, 1000000, &limits->request_burst);
                       }},
                      {"max_groups_per_user",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 100000, &limits->max_groups_per_user);
                       }},
                      {"max_pending_invites",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 1000, &limits->max_pending_invites);
                       }},
                      {"max_reply_bytes", [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 16384, 1048576, &limits->max_reply_bytes);
                       }}});
}

std::string ReadAuth(const YAML::Node& node, const std::string& path, core::AuthSettings* auth) {
  return ReadMapping(node, path,
                     {{"pbkdf2_iterations",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::uint32_t>(n, k, 1000, 10000000, &auth->pbkdf2_iterations);
                       }},
                      {"max_failed_logins",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::uint32_t>(n, k, 1, 1000, &auth->max_failed_logins);
                       }},
                      {"failure_window_seconds",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::uint32_t>(n, k, 1, 86400, &auth->failure_window_seconds);
                       }},
                      {"throttled_checks_per_second",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<double>(n, k, 0.01, 1000, &auth->throttled_checks_per_second);
                       }},
                      {"credential_cache_entries",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 0, 10000000, &auth->credential_cache_entries);
                       }},
                      {"inline_hash_rounds_per_second",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<double>(n, k, 0, 1e9, &auth->inline_hash_rounds_per_second);
                       }},
                      {"hash_threads",
                       [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::uint32_t>(n, k, 1, 16, &auth->hash_threads);
                       }},
                      {"max_pending_checks", [&](const YAML::Node& n, const std::string& k) {
                         return ReadNumber<std::size_t>(n, k, 1, 100000, &auth->max_pending_checks);
                       }}});
}

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
  std::string error = root.IsNull() ? std::string() : ReadMapping(
      root, "",
      {{"data_dir", [&](const YAML::Node& n, const std::string& k) { return ReadString(n, k, &config.data_dir); }},
       {"node_id",
        [&](const YAML::Node& n, const std::string& k) {
          return ReadNumber<std::uint32_t>(n, k, 0, 1023, &config.node_id);
        }},
       {"durability",
        [&](const YAML::Node& n, const std::string& k) { return ReadDurability(n, k, &config.durability); }},
       {"limits", [&](const YAML::Node& n, const std::string& k) { return ReadLimits(n, k, &config.limits); }},
       {"auth", [&](const YAML::Node& n, const std::string& k) { return ReadAuth(n, k, &config.auth); }},
       {"presence",
        [&](const YAML::Node& n, const std::string& k) {
          core::PresenceSettings& p = config.presence;
          return ReadMapping(
              n, k,
              {{"heartbeat_seconds",
                [&](const YAML::Node& v, const std::string& key) {
                  return ReadNumber<std::uint32_t>(v, key, 1, 3600, &p.heartbeat_seconds);
                }},
               {"timeout_seconds",
                [&](const YAML::Node& v, const std::string& key) {
                  return ReadNumber<std::uint32_t>(v, key, 1, 3600, &p.timeout_seconds);
                }},
               {"push_group_limit",
                [&](const YAML::Node& v, const std::string& key) {
                  return ReadNumber<std::size_t>(v, key, 0, 10000, &p.push_group_limit);
                }},
               {"typing_rate_per_second",
                [&](const YAML::Node& v, const std::string& key) {
                  return ReadNumber<double>(v, key, 0.1, 1000, &p.typing_rate_per_second);
                }},
               {"typing_burst", [&](const YAML::Node& v, const std::string& key) {
                  return ReadNumber<double>(v, key, 1, 1000, &p.typing_burst);
                }}});
        }},
       {"push",
        [&](const YAML::Node& n, const std::string& k) {
          core::PushSettings& p = config.push;
          return ReadMapping(n, k,
                             {{"preview_chars",
                               [&](const YAML::Node& v, const std::string& key) {
                                 return ReadNumber<std::size_t>(v, key, 0, 1000, &p.preview_chars);
                               }},
                              {"collapse_seconds",
                               [&](const YAML::Node& v, const std::string& key) {
                                 return ReadNumber<std::uint32_t>(v, key, 0, 3600, &p.collapse_seconds);
                               }},
                              {"lease_seconds",
                               [&](const YAML::Node& v, const std::string& key) {
                                 return ReadNumber<std::uint32_t>(v, key, 5, 86400, &p.lease_seconds);
                               }},
                              {"service_accounts", [&](const YAML::Node& v, const std::string& key) {
                                 return ReadUserList(v, key, &p.service_accounts);
                               }}});
        }},
       {"sync", [&](const YAML::Node& n, const std::string& k) {
          return ReadMapping(n, k, {{"retention_days", [&](const YAML::Node& v, const std::string& key) {
                                       return ReadNumber<std::uint32_t>(v, key, 0, 36500,
                                                                        &config.sync.retention_days);
                                     }}});
        }}});
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
