// BridgeConfig: every setting of the push bridge, typed, read once from its YAML file at start-up.
// Errors name the key ("retry.max_attempts: must be 1..100, got 0"), as the server's config does.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"

namespace chat::bridge {

// One push provider's HTTPS endpoint. Every job target names its provider (core/push_providers.h).
struct ProviderConfig {
  std::string url;                             // https:// only
  std::map<std::string, std::string> headers;  // sent with every request, e.g. Authorization
  int timeout_ms = 5000;                       // whole request, connect included
  std::string ca_file;                         // PEM bundle to verify the provider with; "" = system CAs
};

struct RetryPolicy {
  int max_attempts = 5;  // tries per target, the first included
  int initial_backoff_ms = 500;
  int max_backoff_ms = 8000;
};

struct BridgeConfig {
  // The broker, and the service account the bridge logs in with (listed in the server's
  // push.service_accounts). The client id is "<username>:<device>".
  std::string broker_host = "127.0.0.1";
  int broker_port = 1883;
  // TLS to the broker's TLS listener, verifying its certificate against broker_ca_file (empty: the
  // system's CAs); a client certificate for brokers that require one.
  bool broker_tls = false;
  std::string broker_ca_file;
  std::string broker_cert_file;
  std::string broker_key_file;
  std::string username;
  std::string password_file;  // first line is the password
  std::string device;         // unique per bridge instance
  int keepalive_seconds = 30;
  std::string share_group = "push-bridge";  // $share/<share_group>/chat/v1/service/push/jobs

  std::map<std::string, ProviderConfig> providers;  // keys: core::kPushProviders
  RetryPolicy retry;

  std::string journal_file;  // jobs whose outcome is final; may be shared by instances on one host
  int journal_retention_hours = 168;
  // The server's push.lease_seconds: a job is offered again after this long without a result, so
  // the bridge starts no attempt that could end later and gives such a job back (see push_bridge.h).
  int lease_seconds = 60;
  int queue_capacity = 1000;  // jobs held at once (waiting or being retried); more are dropped

  std::string metrics_listen = "127.0.0.1";
  int metrics_port = 0;  // 0 = no metrics endpoint
};

// Slack kept between the bridge's own deadline for a job and the server's lease on it, for the
// result's way back and for clocks that tick a little differently.
inline constexpr int kLeaseMarginMs = 2000;

// Time one target can take in the worst case: max_attempts requests that each time out, plus every
// backoff between them at its maximum.
std::int64_t WorstCaseTargetMillis(const BridgeConfig& config);

// Parses YAML text into `out`; kInvalidArgument naming the key on failure (`out` unchanged). Relative
// paths (password_file, journal_file, ca_file) are taken from `base_dir`. Files are not opened here.
core::Status ParseBridgeConfig(const std::string& yaml_text, const std::string& base_dir, BridgeConfig* out);

// Reads and parses the file at `path`, then checks that the files it names can be read. Error messages
// start with the path.
core::Status LoadBridgeConfig(const std::string& path, BridgeConfig* out);

}  // namespace chat::bridge
