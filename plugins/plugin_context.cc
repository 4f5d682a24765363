#include "plugins/plugin_context.h"

#include <filesystem>
#include <system_error>

#include "cluster/jetstream_log.h"
#include "cluster/replicated_commit_stage.h"
#include "core/admin_commands.h"
#include "core/threaded_commit_stage.h"
#include "core/topic_format.h"
#include "plugins/broker_outbox.h"
#include "plugins/broker_waker.h"
#include "storage/rocksdb_store.h"

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
}

namespace chat::plugin {
namespace {

constexpr std::int64_t kFirstRetentionDelayMs = 5000;
constexpr std::int64_t kRetentionIntervalMs = 3600 * 1000;
constexpr std::int64_t kRetentionBusyRetryMs = 60 * 1000;  // another task held the runner
constexpr std::int64_t kDayMs = 86400 * 1000;
// Reads waiting for the read worker (searches, push offers), all users together: past this a search is
// answered "busy" and a push offer waits a second. A search takes up to tens of milliseconds, so a full
// queue is a second or two of work.
constexpr std::size_t kMaxQueuedReads = 64;

}  // namespace

core::Result<std::unique_ptr<PluginContext>> PluginContext::Create(const config::ServerConfig& config,
                                                                   const LocalListener& listener,
                                                                   const core::Clock& clock) {
  auto context = std::make_unique<PluginContext>();
  context->config = config;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return core::Status::Error(core::ErrorCode::kIoError,
                               "cannot create data_dir " + config.data_dir + ": " + ec.message());
  }
  auto store = storage::RocksDbStore::Open(config.data_dir, config.durability, config.storage);
  if (!store.ok()) return store.status();
  (*store)->RequireFreeDisk(static_cast<std::uint64_t>(config.min_free_disk_mb) << 20);
  context->store = std::move(*store);
  const config::ServerConfig& settings = context->config;
  // Create runs on the broker thread (mosquitto_plugin_init): the waker aims at it.
  context->waker = std::make_unique<BrokerWaker>();
  BrokerWaker* waker = context->waker.get();
  auto wake = [waker](bool force) { waker->Wake(force); };
  if (settings.cluster.enabled()) {
    if (core::Status s = context->JoinCluster(wake); !s.ok()) return s;
  } else {
    context->commits = std::make_unique<core::ThreadedCommitStage>(*context->store, wake);
  }
  // After the log outbox was applied: its changes took ids too.
  core::Result<core::MessageId> floor = context->store->LargestMessageId();
  if (!floor.ok()) return floor.status();
  context->ids = std::make_unique<core::MessageIdGenerator>(clock, settings.node_id, *floor);
  context->admin_jobs = std::make_unique<AdminJobRunner>(*context->store, *context->waker);
  context->reads = std::make_unique<core::ThreadedReadWorker>(*context->store, kMaxQueuedReads,
                                                               [waker] { waker->Wake(/*always=*/true); });
  context->chat = std::make_unique<core::ChatService>(*context->store, *context->commits, *context->reads, clock,
                                                      *context->ids,
                                                      settings.limits, settings.presence, settings.push,
                                                      settings.auth);
  if (core::Status started = context->chat->Start(); !started.ok()) return started;
  context->chat->OnStorageEvents(
      [](const core::Status& failure, std::size_t requests, const core::Status& recovery) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "chat: a write failed (%s): %zu requests answered with storage_error; %s",
                             failure.ToString().c_str(), requests,
                             recovery.ok() ? "the store was reopened and takes writes again"
                                           : ("writes are refused until it can be reopened (tried every second): " +
                                              recovery.ToString())
                                                 .c_str());
      },
      [] { mosquitto_log_printf(MOSQ_LOG_NOTICE, "chat: the store takes writes again"); });
  context->password_checker =
      std::make_unique<core::ThreadedPasswordChecker>(settings.auth.hash_threads, settings.auth.max_pending_checks);
  context->authenticator =
      std::make_unique<core::Authenticator>(*context->store, clock, settings.auth, *context->password_checker);
  context->sessions =
      std::make_unique<core::SessionRegistry>(settings.limits.max_devices_per_user, settings.limits.max_sessions_per_user);
  if (listener.port > 0) context->reaper = SessionReaper::Create(listener.host, listener.port);
  context->connections = std::make_unique<core::ConnectionService>(
      settings.limits, settings.push, *context->authenticator, *context->sessions, *context->chat,
      /*can_end_sessions=*/context->reaper != nullptr);
  PluginContext* raw = context.get();
  core::AccountHooks hooks;
  hooks.erase_data = [raw](const std::string& user_id) {
    BrokerOutbox outbox(*raw->waker);
    return raw->chat->EraseAccount(user_id, outbox);
  };
  hooks.credentials_changed = [raw](const std::string& user_id, bool deleted) {
    // A deleted account or a changed password ends the user's live connections at once (as Mosquitto's
    // dynamic-security plugin does): they logged in with credentials that no longer hold. A deleted
    // account's offline sessions end too, so a re-created name cannot resume them.
    BrokerOutbox outbox(*raw->waker);
    core::AccountChange change = raw->connections->CredentialsChanged(user_id, deleted, outbox);
    mosquitto_kick_client_by_username(user_id.c_str(), false);
    raw->EndSessions(user_id, change.sessions_to_end);
  };
  hooks.commit = [raw](core::WriteSet writes) {
    BrokerOutbox outbox(*raw->waker);
    return raw->chat->CommitAccountChange(std::move(writes), outbox);
  };
  context->accounts = std::make_unique<core::AccountService>(*context->store, clock, settings.auth, hooks);
  context->metrics = std::make_unique<MetricsExport>(*context->chat, *context->commits, *context->store);
  if (core::Status serving = context->metrics->Serve(settings.metrics); !serving.ok()) return serving;
  context->clock = &clock;
  // The first sweep soon after start-up (not during it: a restart must be quick), then every hour.
  context->next_retention_ms = clock.MonotonicMillis() + kFirstRetentionDelayMs;
  return context;
}

core::Status PluginContext::JoinCluster(const std::function<void(bool)>& wake) {
  const config::ClusterSettings& cluster_settings = config.cluster;
  auto log = cluster::JetStreamLog::Connect(cluster_settings, "chat-node-" + std::to_string(config.node_id));
  if (!log.ok()) return log.status();
  change_log = std::move(*log);
  cluster::ReplicatedCommitStage::Options options;
  options.retry_after = std::chrono::milliseconds(cluster_settings.append_retry_ms);
  auto stage = std::make_unique<cluster::ReplicatedCommitStage>(*store, *change_log, wake, options);
  // A node that stopped with appends unconfirmed appends them before it serves anyone.
  if (core::Status drained = stage->DrainOutbox(std::chrono::seconds(cluster_settings.start_timeout_seconds));
      !drained.ok()) {
    return drained;
  }
  commits = std::move(stage);
  mosquitto_log_printf(MOSQ_LOG_NOTICE, "chat: cluster node %u, changes go to JetStream stream %s (%u replicas)",
                       config.node_id, cluster_settings.stream.c_str(), cluster_settings.replicas);
  return core::Status::Ok();
}

config::Reloaded PluginContext::Reload(const config::ServerConfig& from_file) {
  config::Reloaded reloaded = config::PlanReload(config, from_file);
  if (reloaded.applied.empty()) return reloaded;
  config = reloaded.config;
  chat->SettingsChanged();
  authenticator->ApplySettings(config.auth);
  sessions->SetCaps(config.limits.max_devices_per_user, config.limits.max_sessions_per_user);
  return reloaded;
}

core::RetentionCutoffs PluginContext::RetentionCutoffsNow() const {
  core::RetentionCutoffs cutoffs;
  std::int64_t now = clock->NowMillis();
  if (config.retention.history_days > 0) {
    cutoffs.messages_before_ms = now - static_cast<std::int64_t>(config.retention.history_days) * kDayMs;
  }
  if (config.retention.queue_days > 0) {
    cutoffs.queue_before_ms = now - static_cast<std::int64_t>(config.retention.queue_days) * kDayMs;
  }
  return cutoffs;
}

void PluginContext::OnTick(core::Outbox& outbox) {
  std::int64_t now = clock->MonotonicMillis();
  metrics->PublishSysTopics(now, config.metrics.sys_interval_seconds, outbox);
  if (config.retention.enabled() && now >= next_retention_ms) {
    core::AdminCommand sweep;
    sweep.command = "retention";
    sweep.cutoffs = RetentionCutoffsNow();
    next_retention_ms = now + (admin_jobs->Start("", std::move(sweep)) ? kRetentionIntervalMs : kRetentionBusyRetryMs);
  }
  std::optional<AdminJobRunner::Finished> finished = admin_jobs->TakeFinished();
  if (!finished) return;
  const core::AdminCommand& command = finished->command;
  const core::AdminOutcome& outcome = finished->outcome;
  if (!outcome.status.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: %s failed after %.2f s: %s", command.command.c_str(), outcome.seconds,
                         outcome.status.ToString().c_str());
  } else if (outcome.swept) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "chat: retention removed %llu messages and %llu queue entries (%.2f s)",
                         static_cast<unsigned long long>(outcome.swept->messages),
                         static_cast<unsigned long long>(outcome.swept->queue_entries), outcome.seconds);
  } else {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "chat: %s done (%.2f s)", command.command.c_str(), outcome.seconds);
  }
  if (!finished->client_id.empty()) {
    outbox.ToClient(finished->client_id, std::string(core::kAdminControlResponseTopic),
                    core::AdminResponse(command, outcome));
  }
}

void PluginContext::EndSessions(const std::string& user_id, const std::vector<std::string>& client_ids) {
  if (reaper == nullptr) return;
  for (const std::string& client_id : client_ids) {
    if (!reaper->End(user_id, client_id)) {
      mosquitto_log_printf(MOSQ_LOG_WARNING, "chat: cannot end an offline session now (reaper queue full)");
      return;
    }
  }
}

}  // namespace chat::plugin
