// Parses the push bridge's YAML into BridgeConfig. Same rules as config/server_config.cc: unknown keys,
// wrong types and values out of range are errors that name the key, so a typo never goes unnoticed.
#include "bridge/bridge_config.h"

#include "config/yaml_fields.h"
#include "core/push_providers.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace chat::bridge {
namespace {

using config::FieldReader;
using config::KeyError;
using config::ReadIpAddress;
using config::NumberFields;
using config::NumberSetting;
using config::ReadMapping;
using config::ReadString;
using config::Section;

core::Status Invalid(std::string message) {
  return core::Status::Error(core::ErrorCode::kInvalidArgument, std::move(message));
}

std::string ReadIdentifier(const YAML::Node& node, const std::string& key, std::string* out) {
  std::string value;
  if (std::string e = ReadString(node, key, &value); !e.empty()) return e;
  bool valid = value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char c) {
                 return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.' || c == '-';
               });
  if (!valid) return KeyError(key, "must be 1-64 of A-Z a-z 0-9 _ . -, got \"" + value + "\"");
  *out = value;
  return "";
}

std::string ReadPath(const YAML::Node& node, const std::string& key, const std::string& base_dir, std::string* out) {
  std::string value;
  if (std::string e = ReadString(node, key, &value); !e.empty()) return e;
  std::filesystem::path path(value);
  if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
  *out = path.lexically_normal().string();
  return "";
}

bool IsTokenChar(char c) {
  // RFC 9110 token characters: what a header name may contain.
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string ReadHeaders(const YAML::Node& node, const std::string& path, std::map<std::string, std::string>* out) {
  if (!node.IsMap()) return KeyError(path, "must be a mapping of header names to values");
  for (const auto& entry : node) {
    std::string name = entry.first.Scalar();
    std::string key = path + "." + name;
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return KeyError(key, "not a valid header name");
    }
    std::string lower = Lower(name);
    if (lower == "content-type" || lower == "content-length" || lower == "idempotency-key" || lower == "host") {
      return KeyError(key, "is set by the bridge");
    }
    if (!entry.second.IsScalar()) return KeyError(key, "must be a string");
    const std::string& value = entry.second.Scalar();
    // A CR or LF would let a value smuggle in further headers.
    if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      return KeyError(key, "must not contain CR, LF or NUL");
    }
    (*out)[name] = value;
  }
  return "";
}

// A mapping's readers by key name, and makers of the common ones.
using Fields = std::map<std::string, FieldReader>;

FieldReader String(std::string* out) {
  return [=](const YAML::Node& n, const std::string& k) { return ReadString(n, k, out); };
}
FieldReader Identifier(std::string* out) {
  return [=](const YAML::Node& n, const std::string& k) { return ReadIdentifier(n, k, out); };
}
FieldReader Path(const std::string& base_dir, std::string* out) {
  return [=](const YAML::Node& n, const std::string& k) { return ReadPath(n, k, base_dir, out); };
}

FieldReader IpAddress(std::string* out) {
  return [=](const YAML::Node& n, const std::string& k) { return ReadIpAddress(n, k, out); };
}

// Every numeric setting with its valid range, by section.
const NumberSetting<ProviderConfig> kProviderNumbers[] = {
    {"timeout_ms", &ProviderConfig::timeout_ms, 100, 120000},
};
const NumberSetting<BridgeConfig> kBrokerNumbers[] = {
    {"port", &BridgeConfig::broker_port, 1, 65535},
    // The server refuses 0 and anything above limits.max_keepalive_seconds (300).
    {"keepalive_seconds", &BridgeConfig::keepalive_seconds, 1, 300},
};
const NumberSetting<RetryPolicy> kRetryNumbers[] = {
    {"max_attempts", &RetryPolicy::max_attempts, 1, 100},
    {"initial_backoff_ms", &RetryPolicy::initial_backoff_ms, 1, 600000},
    {"max_backoff_ms", &RetryPolicy::max_backoff_ms, 1, 600000},
};
const NumberSetting<BridgeConfig> kTopLevelNumbers[] = {
    {"journal_retention_hours", &BridgeConfig::journal_retention_hours, 1, 24 * 365},
    {"lease_seconds", &BridgeConfig::lease_seconds, 5, 86400},
    {"queue_capacity", &BridgeConfig::queue_capacity, 1, 1000000},
};
const NumberSetting<BridgeConfig> kMetricsNumbers[] = {
    {"port", &BridgeConfig::metrics_port, 0, 65535},
};

std::string ReadProvider(const YAML::Node& node, const std::string& path, const std::string& base_dir,
                         ProviderConfig* provider) {
  FieldReader url = [=](const YAML::Node& n, const std::string& k) {
    if (std::string e = ReadString(n, k, &provider->url); !e.empty()) return e;
    const std::string& value = provider->url;
    // Tokens and message previews travel in the body: never in clear text.
    if (value.rfind("https://", 0) != 0 || value.size() == 8 || value[8] == '/') {
      return KeyError(k, "must be an https:// URL with a host, got \"" + value + "\"");
    }
    if (std::any_of(value.begin(), value.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
      return KeyError(k, "must not contain spaces or control characters");
    }
    return std::string();
  };
  FieldReader headers = [=](const YAML::Node& n, const std::string& k) {
    return ReadHeaders(n, k, &provider->headers);
  };
  Fields fields = NumberFields(kProviderNumbers, provider);
  fields["url"] = url;
  fields["headers"] = headers;
  fields["ca_file"] = Path(base_dir, &provider->ca_file);
  std::string e = ReadMapping(node, path, fields);
  if (!e.empty()) return e;
  if (provider->url.empty()) return KeyError(path + ".url", "required");
  return "";
}

}  // namespace

std::int64_t WorstCaseTargetMillis(const BridgeConfig& config) {
  int timeout = 0;
  for (const auto& [name, provider] : config.providers) timeout = std::max(timeout, provider.timeout_ms);
  std::int64_t total = std::int64_t{config.retry.max_attempts} * timeout;
  std::int64_t backoff = config.retry.initial_backoff_ms;
  for (int attempt = 1; attempt < config.retry.max_attempts; ++attempt) {
    total += std::min<std::int64_t>(backoff, config.retry.max_backoff_ms);
    backoff = std::min<std::int64_t>(backoff * 2, config.retry.max_backoff_ms);
  }
  return total;
}

core::Status ParseBridgeConfig(const std::string& yaml_text, const std::string& base_dir, BridgeConfig* out) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("not valid YAML: ") + e.what());
  }
  if (root.IsNull()) return Invalid("broker: required");
  BridgeConfig config;
  Fields providers;
  for (std::string_view provider : core::kPushProviders) {
    std::string name(provider);
    providers[name] = [&, name](const YAML::Node& n, const std::string& k) {
      return ReadProvider(n, k, base_dir, &config.providers[name]);
    };
  }
  Fields broker = NumberFields(kBrokerNumbers, &config);
  broker["host"] = String(&config.broker_host);
  broker["tls"] = [&](const YAML::Node& n, const std::string& k) { return config::ReadBool(n, k, &config.broker_tls); };
  broker["ca_file"] = Path(base_dir, &config.broker_ca_file);
  broker["cert_file"] = Path(base_dir, &config.broker_cert_file);
  broker["key_file"] = Path(base_dir, &config.broker_key_file);
  broker["username"] = Identifier(&config.username);
  broker["password_file"] = Path(base_dir, &config.password_file);
  broker["device"] = Identifier(&config.device);
  broker["share_group"] = Identifier(&config.share_group);
  Fields retry = NumberFields(kRetryNumbers, &config.retry);
  Fields metrics = NumberFields(kMetricsNumbers, &config);
  metrics["listen"] = IpAddress(&config.metrics_listen);
  Fields top = NumberFields(kTopLevelNumbers, &config);
  top["broker"] = Section(broker);
  top["providers"] = Section(providers);
  top["retry"] = Section(retry);
  top["journal_file"] = Path(base_dir, &config.journal_file);
  top["metrics"] = Section(metrics);
  std::string e = ReadMapping(root, "", top);
  if (!e.empty()) return Invalid(e);

  if (config.username.empty()) return Invalid("broker.username: required");
  if (config.password_file.empty()) return Invalid("broker.password_file: required");
  if (config.device.empty()) return Invalid("broker.device: required (unique per bridge instance)");
  if (config.providers.empty()) {
    return Invalid("providers: at least one of " + core::JoinPushProviders(", ") + " is required");
  }
  if (config.journal_file.empty()) return Invalid("journal_file: required");
  if (config.retry.max_backoff_ms < config.retry.initial_backoff_ms) {
    return Invalid("retry.max_backoff_ms: must be at least retry.initial_backoff_ms (" +
                   std::to_string(config.retry.initial_backoff_ms) + "), got " +
                   std::to_string(config.retry.max_backoff_ms));
  }
  // A target still being retried when the server's lease runs out would be offered again, maybe to
  // another instance, which could deliver it a second time.
  std::int64_t worst = WorstCaseTargetMillis(config);
  std::int64_t budget = std::int64_t{config.lease_seconds} * 1000 - kLeaseMarginMs;
  if (worst > budget) {
    return Invalid("retry: a target can take up to " + std::to_string(worst) +
                   " ms (max_attempts x the largest providers.*.timeout_ms, plus the backoffs), more than "
                   "lease_seconds (" + std::to_string(config.lease_seconds) + ") less " +
                   std::to_string(kLeaseMarginMs) +
                   " ms allows; lower retry.max_attempts, retry.max_backoff_ms or a timeout_ms");
  }
  *out = std::move(config);
  return core::Status::Ok();
}

core::Status LoadBridgeConfig(const std::string& path, BridgeConfig* out) {
  std::ifstream in(path);
  if (!in) return Invalid("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::path absolute = std::filesystem::absolute(path);
  BridgeConfig config;
  if (core::Status s = ParseBridgeConfig(text.str(), absolute.parent_path().string(), &config); !s.ok()) {
    return Invalid(path + ": " + s.message());
  }
  auto readable = [](const std::string& file) { return std::ifstream(file).good(); };
  if (!readable(config.password_file)) {
    return Invalid(path + ": broker.password_file: cannot read " + config.password_file);
  }
  for (const auto& [name, provider] : config.providers) {
    if (!provider.ca_file.empty() && !readable(provider.ca_file)) {
      return Invalid(path + ": providers." + name + ".ca_file: cannot read " + provider.ca_file);
    }
  }
  *out = std::move(config);
  return core::Status::Ok();
}

}  // namespace chat::bridge
