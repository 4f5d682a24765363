// The push bridge's MQTT side (Paho async client, MQTT 5) and its worker: job intake, journal look-ups,
// deliveries with backoff, results. See push_bridge.h for the threads and a job's life.
#include "bridge/push_bridge.h"

#include "clients/common/broker_address.h"
#include "clients/common/connect_retry.h"
#include "core/topic_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace chat::bridge {
namespace {

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

constexpr std::int64_t kHourMs = 3600 * 1000;

// A uniformly random number in [0, 1) from 64 random bits (the top 53, a double's precision).
double UnitRandom(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

clients::BrokerAddress BrokerAddressOf(const BridgeConfig& config) {
  clients::BrokerAddress address;
  address.host = config.broker_host;
  address.port = config.broker_port;
  address.tls = config.broker_tls;
  address.ca_file = config.broker_ca_file;
  address.cert_file = config.broker_cert_file;
  address.key_file = config.broker_key_file;
  return address;
}

std::string JoinDevices(const std::vector<std::string>& devices) {
  std::string out = "[";
  for (std::size_t i = 0; i < devices.size(); ++i) out += (i > 0 ? "," : "") + devices[i];
  return out + "]";
}

}  // namespace

void LogLine(const std::string& text) {
  static std::mutex mutex;
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  int millis =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "%s.%03dZ push-bridge: %s\n", stamp, millis, text.c_str());
  std::fflush(stderr);
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double unit_random) {
  double base = policy.initial_backoff_ms * std::pow(2.0, std::max(0, attempt - 1));
  base = std::min<double>(base, policy.max_backoff_ms);
  double delay = base / 2 + std::clamp(unit_random, 0.0, 1.0) * base / 2;
  return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(delay)));
}

PushBridge::PushBridge(BridgeConfig config, const core::Clock& clock, std::function<std::uint64_t()> random)
    : config_(std::move(config)),
      clock_(clock),
      result_topic_(core::RequestTopic(core::RequestOp::kPushResult)),
      random_(std::move(random)) {}

PushBridge::~PushBridge() {
  Stop();
  // Paho's threads call into this object: end them while every member is still alive.
  client_.reset();
}

core::Status PushBridge::Start() {
  core::Result<std::unique_ptr<Journal>> journal =
      Journal::Open(config_.journal_file, std::chrono::hours(config_.journal_retention_hours), clock_);
  if (!journal.ok()) return journal.status();
  journal_ = std::move(*journal);
  if (journal_->bad_lines() > 0) {
    LogLine("journal: skipped " + std::to_string(journal_->bad_lines()) + " unreadable lines");
  }
  counters_.journal_jobs = journal_->job_count();
  last_compaction_ms_ = clock_.MonotonicMillis();
  password_ = ReadFirstLine(config_.password_file);
  for (const auto& [name, provider] : config_.providers) {
    providers_[name] = std::make_unique<ProviderClient>(provider, clock_);
  }

  if (config_.metrics_port != 0) {
    core::Status s =
        metrics_.Start(config_.metrics_listen, config_.metrics_port, [this] { return FormatMetrics(counters_); });
    if (!s.ok()) return s;
  }

  std::string uri = clients::BrokerUri(BrokerAddressOf(config_));
  // Results published while the connection is down wait in this buffer and go out after the reconnect.
  mqtt::create_options create(MQTTVERSION_5, 10000);
  client_ = std::make_unique<mqtt::async_client>(uri, config_.username + ":" + config_.device, create);
  client_->set_message_callback([this](mqtt::const_message_ptr message) { OnMessage(std::move(message)); });
  client_->set_connected_handler([this](const std::string& cause) { OnConnected(cause); });
  client_->set_connection_lost_handler([this](const std::string& cause) { OnConnectionLost(cause); });
  share_filter_ = "$share/" + config_.share_group + "/" + std::string(core::kPushJobsTopic);

  worker_ = std::thread([this] { WorkerLoop(); });
  started_ = true;
  LogLine("started: journal " + config_.journal_file + " (" + std::to_string(journal_->job_count()) +
          " jobs), metrics " +
          (config_.metrics_port != 0 ? config_.metrics_listen + ":" + std::to_string(config_.metrics_port) : "off"));
  return core::Status::Ok();
}

core::Status PushBridge::Connect() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribe_state_ = SubscribeState::kPending;
  }
  // Clean start: a dead instance's subscription goes with its connection, so the broker stops sending
  // jobs its way; what it had taken comes back through the server's lease.
  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(true)
                     .user_name(config_.username)
                     .password(password_)
                     .keep_alive_interval(std::chrono::seconds(config_.keepalive_seconds))
                     .connect_timeout(std::chrono::seconds(10))
                     .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30));
  if (config_.broker_tls) options.ssl(clients::TlsOptions(BrokerAddressOf(config_)));
  try {
    clients::ConnectWithRetry(*client_, options.finalize());
  } catch (const mqtt::exception& e) {
    return core::Status::Error(core::ErrorCode::kIoError, "cannot connect to " + client_->get_server_uri() + " as " +
                                                             client_->get_client_id() + ": " + e.what());
  }
  std::unique_lock<std::mutex> lock(mutex_);
  bool answered = subscribed_.wait_for(lock, std::chrono::seconds(10),
                                       [this] { return subscribe_state_ != SubscribeState::kPending; });
  if (answered && subscribe_state_ == SubscribeState::kDone) return core::Status::Ok();
  std::string why = answered ? subscribe_detail_ : "no SUBACK within 10 s";
  lock.unlock();
  try {
    client_->disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const mqtt::exception&) {
  }
  return core::Status::Error(core::ErrorCode::kIoError, "subscription to " + share_filter_ + " refused (" + why +
                                                           "); is " + config_.username +
                                                           " in the server's push.service_accounts?");
}

void PushBridge::OnConnected(const std::string& /*cause*/) {
  // Called for the first connection and for every automatic reconnect; a clean session has no
  // subscription, so make it each time. Subscribing from a Paho callback is allowed; waiting is not.
  try {
    client_->subscribe(share_filter_, 1, nullptr, subscribe_listener_);
  } catch (const mqtt::exception& e) {
    OnSubscribed(false, e.what());
  }
}

void PushBridge::SubscribeListener::on_success(const mqtt::token& token) {
  int code = static_cast<int>(token.get_reason_code());
  if (code >= 0x80) {
    bridge_->OnSubscribed(false, "reason code " + std::to_string(code));
    return;
  }
  bridge_->OnSubscribed(true, "");
}

void PushBridge::SubscribeListener::on_failure(const mqtt::token& token) {
  bridge_->OnSubscribed(false, "reason code " + std::to_string(static_cast<int>(token.get_reason_code())) +
                                   ", return code " + std::to_string(token.get_return_code()));
}

void PushBridge::OnSubscribed(bool ok, const std::string& detail) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribe_state_ = ok ? SubscribeState::kDone : SubscribeState::kRefused;
    subscribe_detail_ = detail;
  }
  subscribed_.notify_all();
  counters_.connected = ok ? 1 : 0;
  if (ok) {
    LogLine("ready: connected as " + client_->get_client_id() + ", subscribed to " + share_filter_);
  } else {
    LogLine("subscription to " + share_filter_ + " refused: " + detail);
  }
}

void PushBridge::OnConnectionLost(const std::string& cause) {
  counters_.connected = 0;
  LogLine("connection lost (" + (cause.empty() ? std::string("no reason given") : cause) + "); reconnecting");
}

void PushBridge::OnMessage(mqtt::const_message_ptr message) {
  if (!message) return;
  if (message->get_topic() != core::kPushJobsTopic) {
    // The server answers every result on chat/v1/user/<username>/reply (to this connection, unasked);
    // only a refusal is worth a line.
    if (IsErrorReply(message->to_string())) {
      LogLine("the server refused a request: " + message->to_string());
    }
    return;
  }
  counters_.jobs_received++;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;  // left to the server's lease
    if (incoming_.size() + active_count_ < static_cast<std::size_t>(config_.queue_capacity)) {
      incoming_.push_back({message->to_string(), clock_.MonotonicMillis()});
      counters_.jobs_in_progress = incoming_.size() + active_count_;
      wake_.notify_one();
      return;
    }
  }
  counters_.dropped++;
  LogLine("queue full (" + std::to_string(config_.queue_capacity) +
          " jobs): dropped a job; the server offers it again after its lease");
}

void PushBridge::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  try {
    // Take no further jobs; those already taken but unfinished return through the lease.
    if (client_->is_connected()) client_->unsubscribe(share_filter_)->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  try {
    // The disconnect waits (bounded) for results still in flight to be acknowledged. Called even when
    // not connected, to end automatic reconnecting.
    client_->disconnect(std::chrono::seconds(5))->wait_for(std::chrono::seconds(6));
  } catch (const mqtt::exception&) {
  }
  counters_.connected = 0;
  metrics_.Stop();
  LogLine("stopped");
}

// ---- worker ----

std::optional<std::int64_t> PushBridge::NextDue() const {
  std::optional<std::int64_t> next;
  for (const auto& [id, job] : active_) {
    for (const Delivery& d : job.deliveries) {
      if (!d.state && (!next || d.due_ms < *next)) next = d.due_ms;
    }
  }
  return next;
}

int PushBridge::TimeoutOf(const Delivery& delivery) const {
  auto it = config_.providers.find(delivery.target.provider);
  return it == config_.providers.end() ? 0 : it->second.timeout_ms;
}

void PushBridge::WorkerLoop() {
  while (true) {
    std::deque<Incoming> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      std::optional<std::int64_t> due = NextDue();
      // Wake for new jobs, for the next due delivery, and at least hourly for the journal compaction.
      std::int64_t now = clock_.MonotonicMillis();
      std::int64_t until = due ? *due : now + kHourMs;
      wake_.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(0, until - now)),
                     [this] { return stopping_.load() || !incoming_.empty(); });
      if (stopping_) break;
      batch.swap(incoming_);
      // Still held while being accepted: keeps OnMessage's capacity check exact.
      active_count_ = active_.size() + batch.size();
    }
    for (Incoming& incoming : batch) Accept(std::move(incoming));
    active_count_ = active_.size();
    GiveBackLateJobs();
    RunOneDelivery();
    if (clock_.MonotonicMillis() - last_compaction_ms_ >= kHourMs) {
      last_compaction_ms_ = clock_.MonotonicMillis();
      if (core::Status s = journal_->Compact(); !s.ok()) LogLine("journal compaction failed: " + s.message());
    }
    counters_.journal_jobs = journal_->job_count();
    std::lock_guard<std::mutex> lock(mutex_);
    counters_.jobs_in_progress = incoming_.size() + active_count_;
  }
  std::size_t left = active_.size();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left += incoming_.size();
    incoming_.clear();
  }
  if (left > 0) {
    counters_.dropped += left;
    LogLine("stopping with " + std::to_string(left) + " jobs unfinished; the server offers them again after its lease");
  }
  active_.clear();
  active_count_ = 0;
  counters_.jobs_in_progress = 0;
}

void PushBridge::Accept(Incoming incoming) {
  PushJob job;
  core::Status parsed = ParsePushJob(incoming.payload, &job);
  if (job.id.empty()) {
    counters_.dropped++;
    LogLine("dropped a job that cannot be answered: " + parsed.message());
    return;
  }
  std::int64_t deadline_ms = incoming.received_ms + std::int64_t{config_.lease_seconds} * 1000 - kLeaseMarginMs;
  if (auto it = active_.find(job.id); it != active_.end()) {
    // The server's lease ran out before we finished (its clock or lease differ from ours): it has
    // offered the job again, to us, so carry on under the new lease, keeping what is done.
    it->second.deadline_ms = deadline_ms;
    LogLine("job=" + job.id + " offered again while in progress: continuing under the new lease");
    return;
  }
  std::optional<JournalEntry> known = journal_->Find(job.id);
  if (known && known->result) {
    counters_.journal_hits++;
    LogLine("job=" + job.id + " outcome=" + (known->result->sent ? "sent" : "failed") +
            " from the journal (already final; no provider contacted) invalid_devices=" +
            JoinDevices(known->result->invalid_devices));
    Publish(job.id, *known->result);
    return;
  }
  if (!parsed.ok()) {
    // It names a job, so answer it: offered again it would only fail again.
    counters_.failed++;
    LogLine("job=" + job.id + " outcome=failed: malformed job (" + parsed.message() + ")");
    Finish(job.id, JobResult{});
    return;
  }

  ActiveJob active;
  active.deadline_ms = deadline_ms;
  active.job = job;
  for (const PushTarget& target : job.targets) {
    Delivery delivery;
    delivery.target = target;
    delivery.due_ms = clock_.MonotonicMillis();
    active.deliveries.push_back(std::move(delivery));
  }
  for (Delivery& delivery : active.deliveries) {
    if (known) {
      if (auto state = known->targets.find(delivery.target.device); state != known->targets.end()) {
        delivery.state = state->second;
        LogLine("job=" + job.id + " device=" + delivery.target.device + " outcome=" + TargetStateName(state->second) +
                " from the journal (no provider contacted)");
        continue;
      }
    }
    if (providers_.count(delivery.target.provider) == 0) {
      counters_.failed++;
      LogLine("job=" + job.id + " device=" + delivery.target.device + " provider=" + delivery.target.provider +
              " outcome=failed: no such provider in the bridge's config");
      FinalizeTarget(active, delivery, TargetState::kFailed);
    }
  }
  if (std::all_of(active.deliveries.begin(), active.deliveries.end(), [](const Delivery& d) { return d.state; })) {
    JobResult result;
    for (const Delivery& d : active.deliveries) {
      result.sent = result.sent || d.state == TargetState::kAccepted;
      if (d.state == TargetState::kInvalidToken) result.invalid_devices.push_back(d.target.device);
    }
    if (active.deliveries.empty()) LogLine("job=" + job.id + " has no targets");
    Finish(job.id, result);
    return;
  }
  active_.emplace(job.id, std::move(active));
  active_count_ = active_.size();
}

void PushBridge::FinalizeTarget(ActiveJob& job, Delivery& delivery, TargetState state) {
  delivery.state = state;
  if (core::Status s = journal_->RecordTarget(job.job.id, delivery.target.device, state); !s.ok()) {
    counters_.journal_errors++;
    LogLine("job=" + job.job.id + " device=" + delivery.target.device + ": journal write failed: " + s.message() +
            " (a re-offer after a restart could send it again)");
  }
}

void PushBridge::GiveBackLateJobs() {
  for (auto it = active_.begin(); it != active_.end();) {
    const ActiveJob& job = it->second;
    bool late = false;
    for (const Delivery& d : job.deliveries) {
      if (!d.state && std::max(d.due_ms, clock_.MonotonicMillis()) + TimeoutOf(d) > job.deadline_ms) {
        late = true;
      }
    }
    if (!late) {
      ++it;
      continue;
    }
    counters_.dropped++;
    LogLine("job=" + it->first +
            " given back: its next attempt could end after the server's lease; the server offers it again "
            "(final deliveries are journaled and not repeated)");
    it = active_.erase(it);
    active_count_ = active_.size();
  }
}

void PushBridge::RunOneDelivery() {
  std::int64_t now = clock_.MonotonicMillis();
  ActiveJob* job = nullptr;
  Delivery* delivery = nullptr;
  for (auto& [id, candidate] : active_) {
    for (Delivery& d : candidate.deliveries) {
      if (!d.state && d.due_ms <= now && (delivery == nullptr || d.due_ms < delivery->due_ms)) {
        job = &candidate;
        delivery = &d;
      }
    }
  }
  if (delivery == nullptr) return;

  ++delivery->attempts;
  const PushTarget& target = delivery->target;
  DeliveryResult result =
      providers_.at(target.provider)
          ->Post(ProviderBody(job->job, target), IdempotencyKey(job->job.id, target.device), &stopping_);
  std::string line = "job=" + job->job.id + " device=" + target.device + " provider=" + target.provider +
                     " attempt=" + std::to_string(delivery->attempts) + "/" +
                     std::to_string(config_.retry.max_attempts) + " http=" + std::to_string(result.http_status) +
                     " ms=" + std::to_string(result.elapsed_ms);
  std::string detail = result.detail.empty() ? "" : " (" + result.detail + ")";
  switch (result.outcome) {
    case DeliveryOutcome::kCancelled:
      return;  // stopping; the job goes back through the lease
    case DeliveryOutcome::kAccepted:
      counters_.sent++;
      FinalizeTarget(*job, *delivery, TargetState::kAccepted);
      LogLine(line + " outcome=sent");
      break;
    case DeliveryOutcome::kInvalidToken:
      counters_.invalid_tokens++;
      FinalizeTarget(*job, *delivery, TargetState::kInvalidToken);
      LogLine(line + " outcome=invalid_token" + detail);
      break;
    case DeliveryOutcome::kPermanent:
      counters_.failed++;
      FinalizeTarget(*job, *delivery, TargetState::kFailed);
      LogLine(line + " outcome=failed: permanent error" + detail);
      break;
    case DeliveryOutcome::kRetryable:
      if (delivery->attempts >= config_.retry.max_attempts) {
        counters_.failed++;
        FinalizeTarget(*job, *delivery, TargetState::kFailed);
        LogLine(line + " outcome=failed: gave up after " + std::to_string(delivery->attempts) + " attempts" + detail);
      } else {
        counters_.retried++;
        std::chrono::milliseconds wait =
            BackoffDelay(config_.retry, delivery->attempts, UnitRandom(random_()));
        if (result.retry_after_ms >= 0) {
          // Honour the provider's Retry-After, within max_backoff_ms so the lease budget holds.
          wait = std::chrono::milliseconds(std::min<std::int64_t>(
              std::max<std::int64_t>(wait.count(), result.retry_after_ms), config_.retry.max_backoff_ms));
        }
        delivery->due_ms = clock_.MonotonicMillis() + wait.count();
        LogLine(line + " outcome=retry in " + std::to_string(wait.count()) + " ms" + detail);
      }
      break;
  }

  if (!std::all_of(job->deliveries.begin(), job->deliveries.end(), [](const Delivery& d) { return d.state; })) return;
  JobResult done;
  for (const Delivery& d : job->deliveries) {
    done.sent = done.sent || d.state == TargetState::kAccepted;
    if (d.state == TargetState::kInvalidToken) done.invalid_devices.push_back(d.target.device);
  }
  std::string id = job->job.id;
  active_.erase(id);
  active_count_ = active_.size();
  Finish(id, done);
}

void PushBridge::Finish(const std::string& job_id, const JobResult& result) {
  // Journal first: if the result is lost on its way, the re-offered job is answered from here.
  if (core::Status s = journal_->RecordResult(job_id, result); !s.ok()) {
    // Publish all the same: a result the server takes ends the job for good, while holding it back would
    // make the server offer it again, to be sent again, every lease.
    counters_.journal_errors++;
    LogLine("job=" + job_id + ": journal write failed: " + s.message());
  }
  LogLine("job=" + job_id + " result outcome=" + (result.sent ? "sent" : "failed") +
          " invalid_devices=" + JoinDevices(result.invalid_devices));
  Publish(job_id, result);
}

void PushBridge::Publish(const std::string& job_id, const JobResult& result) {
  try {
    client_->publish(mqtt::make_message(result_topic_, ResultPayload(job_id, result), 1, false));
    counters_.jobs_completed++;
  } catch (const mqtt::exception& e) {
    LogLine("job=" + job_id + ": cannot publish the result (" + e.what() +
            "); the server offers the job again and the journal answers it");
  }
}

}  // namespace chat::bridge
