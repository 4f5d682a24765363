// PushBridge: takes push jobs from the broker (MQTT 5 shared subscription), delivers each target to its
// provider with retries, journals every final outcome, and answers each job on chat/v1/req/push_result.
#pragma once

#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bridge/bridge_config.h"
#include "bridge/journal.h"
#include "bridge/metrics.h"
#include "bridge/provider_client.h"
#include "bridge/push_job.h"
#include "core/clock.h"
#include "metrics/metrics_http_server.h"

namespace chat::bridge {

// The wait before attempt `attempt` + 1 after attempt `attempt` (1-based) failed retryably: exponential
// from initial_backoff_ms, capped at max_backoff_ms, of which the upper half is random (`unit_random`
// in [0, 1)) so that bridges retrying after a provider outage do not all hit it at the same moment.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double unit_random);

// Threads: Paho's callback thread only queues raw payloads (it never waits on HTTP, so keepalives and
// PUBACKs keep flowing); one worker thread does everything else: parses jobs, asks the journal, makes
// the HTTP requests one at a time, schedules retries (a job waiting for its backoff does not hold up
// the others), journals outcomes and publishes results.
//
// A job's life: offered (QoS 1) -> queued (dropped when queue_capacity jobs are held: the server offers
// it again after its lease) -> answered from the journal if its outcome is final there -> each target
// not final in the journal is POSTed, retried on retryable outcomes up to retry.max_attempts, each final
// target outcome journaled (fdatasync) at once -> when every target is final, the job's result is
// journaled, then published. Whether the job was sent once ("exactly once") thus rests on the journal:
// only the moment between a provider's 2xx and the journal's fdatasync is open, and the retry after a
// crash there carries the same Idempotency-Key.
//
// The bridge starts no attempt that could end after lease_seconds - kLeaseMarginMs from the job's
// arrival: such a job is given back (dropped without result), so the server's re-offer, which may go to
// another instance, never overlaps with this instance still working on it.
class PushBridge {
 public:
  // `clock` (its monotonic time paces retries and leases, its wall time stamps the journal) must outlive
  // the bridge. `random` gives uniformly random 64-bit numbers for the backoff jitter; it is called on
  // the worker thread only.
  PushBridge(BridgeConfig config, const core::Clock& clock, std::function<std::uint64_t()> random);
  ~PushBridge();  // Stop()
  PushBridge(const PushBridge&) = delete;
  PushBridge& operator=(const PushBridge&) = delete;

  // Opens the journal, reads the password, starts the metrics endpoint and the worker; the journal's or
  // the metrics endpoint's error otherwise.
  core::Status Start();
  // Connects and subscribes, waiting for both (bounded); kIoError saying why otherwise (refused login,
  // refused subscription, no broker). Call again to retry. Once connected, Paho reconnects by itself after a
  // lost connection and the subscription is made again.
  core::Status Connect();
  // Unsubscribes, cancels the request in flight, lets the worker end (jobs without a result are left to
  // the server's lease), flushes published results and disconnects. Idempotent.
  void Stop();

  const Counters& counters() const { return counters_; }

 private:
  struct Delivery {
    PushTarget target;
    int attempts = 0;
    std::int64_t due_ms = 0;  // monotonic
    std::optional<TargetState> state;  // set once final
  };
  struct ActiveJob {
    PushJob job;
    std::int64_t deadline_ms = 0;  // monotonic
    std::vector<Delivery> deliveries;
  };
  struct Incoming {
    std::string payload;
    std::int64_t received_ms = 0;  // monotonic
  };

  // Paho MQTT callbacks (its thread).
  void OnMessage(mqtt::const_message_ptr message);
  void OnConnected(const std::string& cause);
  void OnConnectionLost(const std::string& cause);
  void OnSubscribed(bool ok, const std::string& detail);

  // Worker thread.
  void WorkerLoop();
  void Accept(Incoming incoming);
  void FinalizeTarget(ActiveJob& job, Delivery& delivery, TargetState state);
  void RunOneDelivery();
  void GiveBackLateJobs();
  void Finish(const std::string& job_id, const JobResult& result);
  void Publish(const std::string& job_id, const JobResult& result);
  std::optional<std::int64_t> NextDue() const;
  int TimeoutOf(const Delivery& delivery) const;

  class SubscribeListener : public mqtt::iaction_listener {
   public:
    explicit SubscribeListener(PushBridge* bridge) : bridge_(bridge) {}
    void on_success(const mqtt::token& token) override;
    void on_failure(const mqtt::token& token) override;

   private:
    PushBridge* bridge_;
  };

  BridgeConfig config_;
  const core::Clock& clock_;
  std::string password_;
  std::string share_filter_;  // $share/<share_group>/<core::kPushJobsTopic>
  std::string result_topic_;  // where results go: the push_result request topic
  Counters counters_;
  std::unique_ptr<Journal> journal_;
  std::map<std::string, std::unique_ptr<ProviderClient>> providers_;
  metrics::MetricsHttpServer metrics_;
  SubscribeListener subscribe_listener_{this};
  std::unique_ptr<mqtt::async_client> client_;

  std::mutex mutex_;  // guards incoming_, stopping_ transitions, subscribe_state_
  std::condition_variable wake_;
  std::deque<Incoming> incoming_;
  std::atomic<bool> stopping_{false};  // also cancels the HTTP request in flight
  enum class SubscribeState { kIdle, kPending, kDone, kRefused } subscribe_state_ = SubscribeState::kIdle;
  std::string subscribe_detail_;
  std::condition_variable subscribed_;

  // Worker-only state.
  std::map<std::string, ActiveJob> active_;
  std::atomic<std::size_t> active_count_{0};
  std::function<std::uint64_t()> random_;
  std::int64_t last_compaction_ms_ = 0;
  std::thread worker_;
  bool started_ = false;
  bool stopped_ = false;
};

// One log line to stderr, prefixed with the UTC time and "push-bridge:". Thread-safe.
void LogLine(const std::string& text);

}  // namespace chat::bridge
