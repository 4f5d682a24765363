// PluginContext: the plugin's one piece of state, created in mosquitto_plugin_init and handed to
// every callback through the API's user data.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/change_log.h"
#include "config/server_config.h"
#include "core/account_service.h"
#include "core/authenticator.h"
#include "core/chat_service.h"
#include "core/clock.h"
#include "core/commit_stage.h"
#include "core/connection_service.h"
#include "core/message_id.h"
#include "core/password_checker.h"
#include "core/read_worker.h"
#include "core/session_registry.h"
#include "core/store.h"
#include "plugins/admin_job_runner.h"
#include "plugins/broker_waker.h"
#include "plugins/metrics_export.h"
#include "plugins/session_reaper.h"

typedef struct mosquitto_plugin_id_t mosquitto_plugin_id_t;

namespace chat::plugin {

// Where the session reaper reaches the broker: a plain MQTT listener of it ("" port 0: none).
struct LocalListener {
  std::string host;
  int port = 0;
};

struct PluginContext {
  // Builds everything from `config` on `clock` (borrowed; the composition root's, which outlives the
  // context); fails (naming the reason) if the store cannot be opened.
  static core::Result<std::unique_ptr<PluginContext>> Create(const config::ServerConfig& config,
                                                             const LocalListener& listener, const core::Clock& clock);

  // A cluster node: connects to the replicated log, appends what its outbox holds, and sets the commit
  // stage on it. `wake` wakes the broker thread.
  core::Status JoinCluster(const std::function<void(bool)>& wake);
  // Hands offline sessions of `user_id` to the reaper (nothing without one).
  void EndSessions(const std::string& user_id, const std::vector<std::string>& client_ids);
  // Runs on with the settings of a re-read config file that can change at run time (config::PlanReload);
  // returns what changed and what waits for a restart.
  config::Reloaded Reload(const config::ServerConfig& from_file);
  // Timer work of the adapter on every TICK: $SYS metrics, the hourly retention sweep, and the
  // answers of finished operator tasks.
  void OnTick(core::Outbox& outbox);
  // What the retention settings make expired now (nothing of a kind whose setting is 0).
  core::RetentionCutoffs RetentionCutoffsNow() const;

  mosquitto_plugin_id_t* plugin_id = nullptr;
  std::string config_file;  // where `config` was read from, read again on SIGHUP
  // The services borrow its settings: a reload changes them in place.
  config::ServerConfig config;
  std::unique_ptr<core::Store> store;
  // Before the commit stage, whose writer thread wakes the broker with it.
  std::unique_ptr<BrokerWaker> waker;
  // A cluster node's replicated log (null on a single server): before the commit stage that appends to
  // it, so it is closed after the stage stopped.
  std::unique_ptr<cluster::ChangeLog> change_log;
  // After the store (it writes to it) and before the services (they submit to it): its writer is
  // joined, with everything submitted stored, before the store closes.
  std::unique_ptr<core::CommitStage> commits;
  // After the store and the waker it uses; its thread is joined before the store closes.
  std::unique_ptr<AdminJobRunner> admin_jobs;
  // After the store it reads and the waker it uses, before the services that hand it reads: its thread
  // is joined after they are gone and before the store closes.
  std::unique_ptr<core::ReadWorker> reads;
  std::unique_ptr<core::MessageIdGenerator> ids;
  std::unique_ptr<core::ChatService> chat;
  // Declared before the authenticator that uses it, so it outlives it (its threads are joined last).
  std::unique_ptr<core::ThreadedPasswordChecker> password_checker;
  std::unique_ptr<core::Authenticator> authenticator;
  // The connections this plugin admitted, keyed by the broker's `struct mosquitto *`.
  std::unique_ptr<core::SessionRegistry> sessions;
  std::unique_ptr<SessionReaper> reaper;  // null without a local listener
  std::unique_ptr<core::ConnectionService> connections;
  std::unique_ptr<core::AccountService> accounts;
  // Last: its HTTP thread reads the services above, so it stops before any of them goes.
  std::unique_ptr<MetricsExport> metrics;

  const core::Clock* clock = nullptr;
  std::int64_t next_retention_ms = 0;  // monotonic; when the next retention sweep is due
};

}  // namespace chat::plugin
