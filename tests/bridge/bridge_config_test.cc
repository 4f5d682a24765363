// Tests of the push bridge's YAML config: every setting read, defaults, relative paths, and errors that
// name the key, including the check that the retry policy fits in the server's lease.
#include "bridge/bridge_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace chat::bridge {
namespace {

constexpr const char* kMinimal = R"(
broker:
  username: push
  password_file: push.password
  device: bridge-1
providers:
  fcm:
    url: https://fcm.example.com/send
journal_file: journal
)";

std::string ErrorOf(const std::string& yaml) {
  BridgeConfig config;
  return ParseBridgeConfig(yaml, "/base", &config).message();
}

// kMinimal with `extra` appended (for the sections kMinimal does not have).
std::string ErrorWith(const std::string& extra) { return ErrorOf(std::string(kMinimal) + extra); }

TEST(BridgeConfigTest, MinimalConfigGetsTheDefaults) {
  BridgeConfig config;
  ASSERT_EQ(ParseBridgeConfig(kMinimal, "/base", &config).message(), "");
  EXPECT_EQ(config.broker_host, "127.0.0.1");
  EXPECT_EQ(config.broker_port, 1883);
  EXPECT_EQ(config.username, "push");
  EXPECT_EQ(config.password_file, "/base/push.password");
  EXPECT_EQ(config.device, "bridge-1");
  EXPECT_EQ(config.keepalive_seconds, 30);
  EXPECT_EQ(config.share_group, "push-bridge");
  ASSERT_EQ(config.providers.size(), 1u);
  EXPECT_EQ(config.providers["fcm"].url, "https://fcm.example.com/send");
  EXPECT_EQ(config.providers["fcm"].timeout_ms, 5000);
  EXPECT_EQ(config.providers["fcm"].ca_file, "");
  EXPECT_EQ(config.retry.max_attempts, 5);
  EXPECT_EQ(config.retry.initial_backoff_ms, 500);
  EXPECT_EQ(config.retry.max_backoff_ms, 8000);
  EXPECT_EQ(config.journal_file, "/base/journal");
  EXPECT_EQ(config.journal_retention_hours, 168);
  EXPECT_EQ(config.lease_seconds, 60);
  EXPECT_EQ(config.queue_capacity, 1000);
  EXPECT_EQ(config.metrics_listen, "127.0.0.1");
  EXPECT_EQ(config.metrics_port, 0);
}

TEST(BridgeConfigTest, TlsToTheBrokerIsOffUnlessAskedForAndItsFilesAreFromTheConfigsFolder) {
  BridgeConfig plain;
  ASSERT_EQ(ParseBridgeConfig(kMinimal, "/base", &plain).message(), "");
  EXPECT_FALSE(plain.broker_tls);
  BridgeConfig tls;
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("broker:\n"), 8,
               "broker:\n  tls: true\n  port: 8883\n  ca_file: tls/ca.crt\n  cert_file: /etc/c.crt\n  key_file: c.key\n");
  ASSERT_EQ(ParseBridgeConfig(yaml, "/base", &tls).message(), "");
  EXPECT_TRUE(tls.broker_tls);
  EXPECT_EQ(tls.broker_port, 8883);
  EXPECT_EQ(tls.broker_ca_file, "/base/tls/ca.crt");
  EXPECT_EQ(tls.broker_cert_file, "/etc/c.crt");
  EXPECT_EQ(tls.broker_key_file, "/base/c.key");
  EXPECT_EQ(ErrorOf(std::string(kMinimal).replace(1, 8, "broker:\n  tls: yes\n")), "broker.tls: must be true or false");
}

TEST(BridgeConfigTest, ReadsEverySetting) {
  BridgeConfig config;
  ASSERT_EQ(ParseBridgeConfig(R"(
broker:
  host: mqtt.internal
  port: 11883
  username: push
  password_file: /etc/chat/push.password
  device: bridge-7
  keepalive_seconds: 300
  share_group: pushers
providers:
  fcm:
    url: https://fcm.example.com/send
    headers:
      Authorization: "Bearer abc"
      X-Tenant: chat
    timeout_ms: 2500
    ca_file: certs/ca.pem
  apns:
    url: https://apns.example.com:8443/push
  webhook:
    url: https://hooks.example.com/x?y=1
retry:
  max_attempts: 3
  initial_backoff_ms: 100
  max_backoff_ms: 1000
journal_file: /var/lib/push/journal
journal_retention_hours: 24
lease_seconds: 120
queue_capacity: 50
metrics:
  listen: ::1
  port: 9464
)",
                              "/base", &config)
                .message(),
            "");
  EXPECT_EQ(config.broker_host, "mqtt.internal");
  EXPECT_EQ(config.broker_port, 11883);
  EXPECT_EQ(config.password_file, "/etc/chat/push.password");
  EXPECT_EQ(config.device, "bridge-7");
  EXPECT_EQ(config.keepalive_seconds, 300);
  EXPECT_EQ(config.share_group, "pushers");
  ASSERT_EQ(config.providers.size(), 3u);
  const ProviderConfig& fcm = config.providers["fcm"];
  EXPECT_EQ(fcm.headers.at("Authorization"), "Bearer abc");
  EXPECT_EQ(fcm.headers.at("X-Tenant"), "chat");
  EXPECT_EQ(fcm.timeout_ms, 2500);
  EXPECT_EQ(fcm.ca_file, "/base/certs/ca.pem");
  EXPECT_EQ(config.providers["apns"].url, "https://apns.example.com:8443/push");
  EXPECT_EQ(config.providers["webhook"].url, "https://hooks.example.com/x?y=1");
  EXPECT_EQ(config.retry.max_attempts, 3);
  EXPECT_EQ(config.retry.initial_backoff_ms, 100);
  EXPECT_EQ(config.retry.max_backoff_ms, 1000);
  EXPECT_EQ(config.journal_file, "/var/lib/push/journal");
  EXPECT_EQ(config.journal_retention_hours, 24);
  EXPECT_EQ(config.lease_seconds, 120);
  EXPECT_EQ(config.queue_capacity, 50);
  EXPECT_EQ(config.metrics_listen, "::1");
  EXPECT_EQ(config.metrics_port, 9464);
}

TEST(BridgeConfigTest, ErrorsNameTheKey) {
  EXPECT_EQ(ErrorWith("metrics:\n  port: 70000\n"), "metrics.port: must be 0..65535, got 70000");
  EXPECT_EQ(ErrorWith("retry:\n  max_attempts: 0\n"), "retry.max_attempts: must be 1..100, got 0");
  EXPECT_EQ(ErrorWith("retry:\n  max_attempts: many\n"), "retry.max_attempts: must be a number, got \"many\"");
  EXPECT_EQ(ErrorWith("retry:\n  max_atempts: 3\n"), "retry.max_atempts: unknown setting; did you mean retry.max_attempts?");
  EXPECT_EQ(ErrorWith("lease_seconds: 1\n"), "lease_seconds: must be 5..86400, got 1");
  EXPECT_EQ(ErrorWith("metrics:\n  listen: localhost\n"), "metrics.listen: must be an IP address, got \"localhost\"");
  EXPECT_EQ(ErrorWith("retry:\n  initial_backoff_ms: 500\n  max_backoff_ms: 100\n"),
            "retry.max_backoff_ms: must be at least retry.initial_backoff_ms (500), got 100");
  EXPECT_EQ(ErrorOf("broker:\n  port: 0\n"), "broker.port: must be 1..65535, got 0");
  EXPECT_EQ(ErrorOf("broker:\n  keepalive_seconds: 0\n"), "broker.keepalive_seconds: must be 1..300, got 0");
  EXPECT_EQ(ErrorOf("broker:\n  keepalive_seconds: 301\n"), "broker.keepalive_seconds: must be 1..300, got 301");
  EXPECT_EQ(ErrorOf("broker:\n  device: \"a:b\"\n"), "broker.device: must be 1-64 of A-Z a-z 0-9 _ . -, got \"a:b\"");
  EXPECT_EQ(ErrorOf("broker:\n  share_group: a/b\n"),
            "broker.share_group: must be 1-64 of A-Z a-z 0-9 _ . -, got \"a/b\"");
  EXPECT_EQ(ErrorOf("providers:\n  gcm:\n    url: https://x\n"), "providers.gcm: unknown setting; did you mean providers.fcm?");
  EXPECT_EQ(ErrorOf("providers:\n  fcm:\n    url: http://fcm.example.com\n"),
            "providers.fcm.url: must be an https:// URL with a host, got \"http://fcm.example.com\"");
  EXPECT_EQ(ErrorOf("providers:\n  fcm:\n    timeout_ms: 1000\n"), "providers.fcm.url: required");
  EXPECT_EQ(ErrorOf("providers:\n  fcm:\n    url: https://x\n    timeout_ms: 50\n"),
            "providers.fcm.timeout_ms: must be 100..120000, got 50");
  EXPECT_EQ(ErrorOf("providers:\n  fcm:\n    url: https://x\n    headers:\n      Content-Type: text/plain\n"),
            "providers.fcm.headers.Content-Type: is set by the bridge");
  EXPECT_EQ(ErrorOf("providers:\n  fcm:\n    url: https://x\n    headers:\n      X-A: \"a\\r\\nX-B: b\"\n"),
            "providers.fcm.headers.X-A: must not contain CR, LF or NUL");
  EXPECT_EQ(ErrorOf("providers:\n  fcm:\n    url: https://x\n    headers:\n      \"Bad Name\": v\n"),
            "providers.fcm.headers.Bad Name: not a valid header name");
  EXPECT_EQ(ErrorOf("brokr: {}\n"), "brokr: unknown setting; did you mean broker?");
  EXPECT_EQ(ErrorOf("- a\n- b\n"), "(top level): must be a mapping");
  EXPECT_EQ(ErrorOf(""), "broker: required");
  EXPECT_EQ(ErrorOf("broker: [\n").rfind("not valid YAML: ", 0), 0u);
}

TEST(BridgeConfigTest, RequiredKeys) {
  EXPECT_EQ(ErrorOf("broker:\n  password_file: p\n  device: d\n"), "broker.username: required");
  EXPECT_EQ(ErrorOf("broker:\n  username: u\n  device: d\n"), "broker.password_file: required");
  EXPECT_EQ(ErrorOf("broker:\n  username: u\n  password_file: p\n"),
            "broker.device: required (unique per bridge instance)");
  EXPECT_EQ(ErrorOf("broker:\n  username: u\n  password_file: p\n  device: d\njournal_file: j\n"),
            "providers: at least one of fcm, apns, webhook is required");
  EXPECT_EQ(
      ErrorOf("broker:\n  username: u\n  password_file: p\n  device: d\nproviders:\n  fcm:\n    url: https://x\n"),
      "journal_file: required");
}

TEST(BridgeConfigTest, RetryPolicyMustFitInTheLease) {
  // 5 x 10 s timeouts + 0.5 + 1 + 2 + 4 s of backoff = 57.5 s: fits in 60 s less the 2 s margin.
  BridgeConfig config;
  std::string base = R"(
broker:
  username: push
  password_file: p
  device: d
journal_file: j
providers:
  fcm:
    url: https://x
    timeout_ms: 10000
retry:
  max_attempts: 5
  initial_backoff_ms: 500
  max_backoff_ms: 8000
)";
  ASSERT_EQ(ParseBridgeConfig(base, "/base", &config).message(), "");
  EXPECT_EQ(WorstCaseTargetMillis(config), 57500);
  std::string error = ErrorOf(base + "lease_seconds: 59\n");
  EXPECT_EQ(error.rfind("retry: a target can take up to 57500 ms", 0), 0u) << error;
  EXPECT_NE(error.find("lease_seconds (59)"), std::string::npos) << error;
}

TEST(BridgeConfigTest, ShippedExampleParses) {
  std::ifstream in(std::string(BRIDGE_SOURCE_DIR) + "/config/bridge.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  BridgeConfig config;
  ASSERT_EQ(ParseBridgeConfig(text.str(), "/etc/chat", &config).message(), "");
  EXPECT_EQ(config.username, "push-bridge");
  EXPECT_EQ(config.password_file, "/etc/run/push-bridge.password");
  EXPECT_TRUE(config.providers.count("fcm"));
  EXPECT_EQ(config.metrics_port, 0);
}

TEST(BridgeConfigTest, LoadChecksTheFilesItNames) {
  std::string dir = std::filesystem::temp_directory_path() / ("bridge-config-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = dir + "/bridge.yaml";
  std::ofstream(path) << kMinimal;
  BridgeConfig config;
  EXPECT_EQ(LoadBridgeConfig(path, &config).message(),
            path + ": broker.password_file: cannot read " + dir + "/push.password");
  std::ofstream(dir + "/push.password") << "secret\n";
  EXPECT_EQ(LoadBridgeConfig(path, &config).message(), "");
  EXPECT_EQ(config.journal_file, dir + "/journal");
  std::ofstream(path) << R"(
broker:
  username: push
  password_file: push.password
  device: bridge-1
providers:
  fcm:
    url: https://fcm.example.com/send
    ca_file: missing.pem
journal_file: journal
)";
  EXPECT_EQ(LoadBridgeConfig(path, &config).message(),
            path + ": providers.fcm.ca_file: cannot read " + dir + "/missing.pem");
  EXPECT_EQ(LoadBridgeConfig(dir + "/nope.yaml", &config).message(), "cannot read config file " + dir + "/nope.yaml");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chat::bridge
