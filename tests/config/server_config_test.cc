#include "config/server_config.h"

#include <gtest/gtest.h>

#include "harness/broker_process.h"

namespace chat::config {
namespace {

std::string ErrorOf(const std::string& yaml) {
  auto config = ParseServerConfig(yaml, "/base");
  return config.ok() ? "" : config.status().message();
}

TEST(ServerConfigTest, EmptyFileGivesTheDefaults) {
  auto config = ParseServerConfig("", "/base");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->data_dir, "/base/data");
  EXPECT_EQ(config->node_id, 1u);
  EXPECT_EQ(config->durability, core::Durability::kProcessCrash);
  EXPECT_EQ(config->min_free_disk_mb, 64u);
  EXPECT_EQ(config->limits.max_message_chars, 100000u);
  EXPECT_EQ(config->auth.pbkdf2_iterations, 210000u);
}

TEST(ServerConfigTest, ShippedConfigParsesAndStatesTheDefaults) {
  auto shipped = LoadServerConfig(harness::SourceConfigDir() + "/chat.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  auto defaults = ParseServerConfig("", harness::SourceConfigDir());
  EXPECT_EQ(shipped->min_free_disk_mb, defaults->min_free_disk_mb);
  EXPECT_EQ(shipped->limits.max_message_chars, defaults->limits.max_message_chars);
  EXPECT_EQ(shipped->limits.max_history_page, defaults->limits.max_history_page);
  EXPECT_EQ(shipped->limits.send_rate_per_second, defaults->limits.send_rate_per_second);
  EXPECT_EQ(shipped->limits.max_devices_per_user, defaults->limits.max_devices_per_user);
  EXPECT_EQ(shipped->limits.max_keepalive_seconds, defaults->limits.max_keepalive_seconds);
  EXPECT_EQ(shipped->limits.max_group_members, defaults->limits.max_group_members);
  EXPECT_EQ(shipped->limits.max_group_name_chars, defaults->limits.max_group_name_chars);
  EXPECT_EQ(shipped->limits.max_sync_page, defaults->limits.max_sync_page);
  EXPECT_EQ(shipped->retention.history_days, defaults->retention.history_days);
  EXPECT_EQ(shipped->retention.queue_days, defaults->retention.queue_days);
  EXPECT_EQ(shipped->metrics.address, defaults->metrics.address);
  EXPECT_EQ(shipped->metrics.sys_interval_seconds, defaults->metrics.sys_interval_seconds);
  EXPECT_EQ(shipped->metrics.port, 9883u) << "the quick start serves metrics on loopback; absent, the key means none";
  EXPECT_EQ(defaults->metrics.port, 0u);
  EXPECT_EQ(shipped->presence.timeout_seconds, defaults->presence.timeout_seconds);
  EXPECT_EQ(shipped->presence.heartbeat_seconds, defaults->presence.heartbeat_seconds);
  EXPECT_EQ(shipped->presence.push_group_limit, defaults->presence.push_group_limit);
  EXPECT_EQ(shipped->push.preview_chars, defaults->push.preview_chars);
  EXPECT_EQ(shipped->push.collapse_seconds, defaults->push.collapse_seconds);
  EXPECT_EQ(shipped->push.lease_seconds, defaults->push.lease_seconds);
  EXPECT_EQ(shipped->auth.pbkdf2_iterations, defaults->auth.pbkdf2_iterations);
  EXPECT_EQ(shipped->auth.credential_cache_entries, defaults->auth.credential_cache_entries);
  EXPECT_EQ(shipped->auth.max_failed_logins, defaults->auth.max_failed_logins);
  EXPECT_EQ(shipped->auth.failure_window_seconds, defaults->auth.failure_window_seconds);
  EXPECT_EQ(shipped->auth.throttled_checks_per_second, defaults->auth.throttled_checks_per_second);
  EXPECT_EQ(shipped->auth.inline_hash_rounds_per_second, defaults->auth.inline_hash_rounds_per_second);
  EXPECT_EQ(shipped->auth.hash_threads, defaults->auth.hash_threads);
  EXPECT_EQ(shipped->auth.max_pending_checks, defaults->auth.max_pending_checks);
  EXPECT_EQ(shipped->limits.max_reply_bytes, defaults->limits.max_reply_bytes);
}

TEST(ServerConfigTest, ReadsEverySetting) {
  auto config = ParseServerConfig(R"(
data_dir: /var/lib/chat
node_id: 7
durability: power_loss
min_free_disk_mb: 1024
limits:
  max_message_chars: 500
  max_history_page: 20
  send_rate_per_second: 2.5
  send_burst: 10
auth:
  pbkdf2_iterations: 5000
  max_failed_logins: 3
  failure_window_seconds: 10
  throttled_checks_per_second: 0.5
  credential_cache_entries: 0
  inline_hash_rounds_per_second: 0
  hash_threads: 2
  max_pending_checks: 10
)",
                                  "/base");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->data_dir, "/var/lib/chat");
  EXPECT_EQ(config->node_id, 7u);
  EXPECT_EQ(config->durability, core::Durability::kPowerLoss);
  EXPECT_EQ(config->min_free_disk_mb, 1024u);
  EXPECT_EQ(config->limits.max_message_chars, 500u);
  EXPECT_EQ(config->limits.max_history_page, 20u);
  EXPECT_DOUBLE_EQ(config->limits.send_rate_per_second, 2.5);
  EXPECT_EQ(config->auth.pbkdf2_iterations, 5000u);
  EXPECT_EQ(config->auth.credential_cache_entries, 0u);
  EXPECT_EQ(config->auth.failure_window_seconds, 10u);
  EXPECT_DOUBLE_EQ(config->auth.throttled_checks_per_second, 0.5);
  EXPECT_DOUBLE_EQ(config->auth.inline_hash_rounds_per_second, 0);
  EXPECT_EQ(config->auth.hash_threads, 2u);
  EXPECT_EQ(config->auth.max_pending_checks, 10u);
}

TEST(ServerConfigTest, ErrorsNameTheKeyAndTheProblem) {
  EXPECT_EQ(ErrorOf("limits:\n  max_message_chars: 0"), "limits.max_message_chars: must be 1..1000000, got 0");
  EXPECT_EQ(ErrorOf("limits:\n  max_message_chars: lots"),
            "limits.max_message_chars: must be a number, got \"lots\"");
  EXPECT_EQ(ErrorOf("limits:\n  max_mesage_chars: 5"),
            "limits.max_mesage_chars: unknown setting; did you mean limits.max_message_chars?");
  EXPECT_EQ(ErrorOf("presence:\n  timeout: 5"), "presence.timeout: unknown setting; did you mean presence.timeout_seconds?");
  EXPECT_EQ(ErrorOf("colour: blue"), "colour: unknown setting");
  EXPECT_EQ(ErrorOf("limits:\n  send_burst: 5\n  send_burst: 6"), "limits.send_burst: given twice");
  EXPECT_EQ(ErrorOf("node_id: 1024"), "node_id: must be 0..1023, got 1024");
  EXPECT_EQ(ErrorOf("node_id: -1"), "node_id: must be a number, got \"-1\"");
  EXPECT_EQ(ErrorOf("durability: sometimes"), "durability: must be process_crash or power_loss, got \"sometimes\"");
  EXPECT_EQ(ErrorOf("limits: 5"), "limits: must be a mapping");
  EXPECT_EQ(ErrorOf("data_dir: [a]"), "data_dir: must be a non-empty string");
  EXPECT_EQ(ErrorOf("- a\n- b"), "(top level): must be a mapping");
  EXPECT_EQ(ErrorOf("metrics:\n  address: localhost"), "metrics.address: must be an IP address, got \"localhost\"");
  EXPECT_EQ(ErrorOf("retention:\n  history_day: 3"),
            "retention.history_day: unknown setting; did you mean retention.history_days?");
  EXPECT_EQ(ErrorOf("sync:\n  retention_days: 3"), "sync: unknown setting");
  EXPECT_NE(ErrorOf("a: [unclosed").find("not valid YAML"), std::string::npos);
}

TEST(ServerConfigTest, AReloadAppliesLiveSettingsAndHoldsBackTheOthers) {
  auto running = ParseServerConfig("node_id: 1\nlimits:\n  send_burst: 100\nauth:\n  hash_threads: 1\n", "/srv");
  auto from_file = ParseServerConfig(
      "node_id: 2\ndata_dir: /elsewhere\ndurability: power_loss\nlimits:\n  send_burst: 5\n"
      "presence:\n  timeout_seconds: 10\nauth:\n  hash_threads: 4\n  max_failed_logins: 9\n"
      "push:\n  service_accounts: [other]\nstorage:\n  block_cache_mb: 8\ntls:\n  mqtt_port: 9883\n"
      "retention:\n  queue_days: 7\nmetrics:\n  port: 9999\n  address: ::1\n  sys_interval_seconds: 60\n",
      "/srv");
  ASSERT_TRUE(running.ok() && from_file.ok());
  Reloaded reloaded = PlanReload(*running, *from_file);
  EXPECT_EQ(reloaded.applied, (std::vector<std::string>{"limits.send_burst: 100 -> 5", "auth.max_failed_logins: 5 -> 9",
                                                        "presence.timeout_seconds: 30 -> 10",
                                                        "retention.queue_days: 0 -> 7",
                                                        "metrics.sys_interval_seconds: 10 -> 60"}));
  EXPECT_EQ(reloaded.need_restart,
            (std::vector<std::string>{"node_id: 1 -> 2", "auth.hash_threads: 1 -> 4", "metrics.port: 0 -> 9999",
                                      "data_dir: /srv/data -> /elsewhere", "durability: process_crash -> power_loss",
                                      "storage.block_cache_mb: 64 -> 8", "tls.mqtt_port: 8883 -> 9883",
                                      "metrics.address: 127.0.0.1 -> ::1", "push.service_accounts: [] -> [other]"}));
  EXPECT_EQ(reloaded.config.limits.send_burst, 5.0);
  EXPECT_EQ(reloaded.config.presence.timeout_seconds, 10u);
  EXPECT_EQ(reloaded.config.auth.max_failed_logins, 9u);
  EXPECT_EQ(reloaded.config.node_id, 1u);
  EXPECT_EQ(reloaded.config.auth.hash_threads, 1u);
  EXPECT_EQ(reloaded.config.data_dir, "/srv/data");
  EXPECT_EQ(reloaded.config.durability, core::Durability::kProcessCrash);

  Reloaded unchanged = PlanReload(*running, *running);
  EXPECT_TRUE(unchanged.applied.empty());
  EXPECT_TRUE(unchanged.need_restart.empty());
}

TEST(ServerConfigTest, AClusterSectionMakesANodeAndIsReadOnlyAtStart) {
  auto single = ParseServerConfig("", "/srv");
  ASSERT_TRUE(single.ok());
  EXPECT_FALSE(single->cluster.enabled()) << "a single server has no cluster section: no NATS";
  auto node = ParseServerConfig(
      "cluster:\n  nats_servers: [nats://127.0.0.1:14221, nats://127.0.0.1:14222]\n  stream: LOG\n"
      "  subject: chat.changes\n  replicas: 1\n  append_retry_ms: 500\n  start_timeout_seconds: 5\n",
      "/srv");
  ASSERT_TRUE(node.ok()) << node.status().message();
  EXPECT_TRUE(node->cluster.enabled());
  EXPECT_EQ(node->cluster.nats_servers,
            (std::vector<std::string>{"nats://127.0.0.1:14221", "nats://127.0.0.1:14222"}));
  EXPECT_EQ(node->cluster.stream, "LOG");
  EXPECT_EQ(node->cluster.subject, "chat.changes");
  EXPECT_EQ(node->cluster.replicas, 1u);
  EXPECT_EQ(node->cluster.append_retry_ms, 500u);
  EXPECT_EQ(node->cluster.start_timeout_seconds, 5u);
  EXPECT_EQ(ErrorOf("cluster:\n  nats_servers: nats://a"),
            "cluster.nats_servers: must be a list of NATS server URLs (nats://host:port)");
  EXPECT_EQ(ErrorOf("cluster:\n  replicas: 7"), "cluster.replicas: must be 1..5, got 7");
  EXPECT_EQ(ErrorOf("cluster:\n  replicas: 3"), "cluster.nats_servers: a cluster node needs the log's servers")
      << "a cluster section without servers would run as a single server, acknowledging unreplicated";
  EXPECT_EQ(ErrorOf("cluster:\n  nats_servers: [nats://a:1]\n  subject: chat.>"),
            "cluster.subject: must be dot-separated tokens of letters, digits, - and _, got \"chat.>\"");
  EXPECT_EQ(ErrorOf("cluster:\n  nats_servers: [nats://a:1]\n  stream: chat.log"),
            "cluster.stream: must be one token of letters, digits, - and _, got \"chat.log\"");
  Reloaded reloaded = PlanReload(*single, *node);
  EXPECT_TRUE(reloaded.applied.empty());
  EXPECT_FALSE(reloaded.config.cluster.enabled()) << "joining a cluster takes a restart";
  EXPECT_EQ(reloaded.need_restart.size(), 5u) << "three numbers, the servers, the stream and subject";
}

TEST(ServerConfigTest, MissingFileIsNamed) {
  auto config = LoadServerConfig("/nonexistent/chat.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/nonexistent/chat.yaml"), std::string::npos);
}

}  // namespace
}  // namespace chat::config
