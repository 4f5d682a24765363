// bench-presence: how long one user's presence change (log in, clean log out) takes to reach N watching
// contacts through the chat plugin, beside bare Mosquitto delivering one retained message to N subscribers.
//   bench-presence --watchers 100,500,5000 --rounds 5 --out bench-presence.json
#include <mosquitto.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/report.h"
#include "config/server_config.h"
#include "core/account_service.h"
#include "core/clock.h"
#include "core/records.h"
#include "core/topic_format.h"
#include "storage/rocksdb_store.h"
#include "harness/broker_process.h"

// Plugin: user "subject" and N contacts, written straight into the store before the broker starts (the
// protocol would need 2N requests per size just to set up). Every contact has one device subscribed to
// chat/v1/presence/subject. Timed: "online" from the subject's TCP connect (its login is the presence
// change) until every watcher has the online message; "offline" from the subject's bye until every watcher
// has the offline message (bye, its PUBACK, then DISCONNECT: a clean logout, published at once).
//
// Bare: N anonymous subscribers of one topic; one connected publisher publishes a retained QoS 1 message
// twice ("online", then "offline", the plugin's payloads). Timed from each publish until all N have it.
//
// Each size repeats the pair of changes --rounds times on the same broker; the table shows the median
// round and the latencies of all rounds together. The plugin phase first logs the subject in and out once,
// untimed, so every timed login is served from the credential cache, as a reconnect is.
//
// One poll() loop over all clients (load_client.h); watchers connect in batches so the broker's listen
// backlog never overflows (an overflow costs a one-second SYN retry), and retry logins the plugin
// refuses for its password-hashing budget, as real clients do.

namespace chat::bench {
namespace {

using nlohmann::json;

constexpr char kPassword[] = "bench-password";
constexpr char kSubject[] = "subject";
constexpr char kBareTopic[] = "bench/presence/subject";

struct Settings {
  std::vector<int> watchers = {100, 500, 5000};
  int rounds = 5;
  int connect_batch = 100;
  int timeout_seconds = 120;
  std::string out = "bench-presence.json";
};

std::string WatcherUser(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "w%05d", i);
  return name;
}

// One subscriber. Callbacks run on the one loop thread, so no synchronisation.
struct Watcher {
  mosquitto* client = nullptr;
  int connack = -1;  // -1 until the CONNACK arrives
  bool subscribed = false;
  bool refused = false;
  std::int64_t online_ns = 0;  // arrival of the first "online" / "offline" message
  std::int64_t offline_ns = 0;
  int messages = 0;
};

// The user whose presence changes (plugin) or the publisher (bare).
struct Subject {
  mosquitto* client = nullptr;
  int connack = -1;
  int acked = 0;
  int rejected = 0;
};

void OnWatcherConnect(mosquitto*, void* data, int reason, int, const mosquitto_property*) {
  static_cast<Watcher*>(data)->connack = reason;
}

void OnWatcherSubscribe(mosquitto*, void* data, int, int count, const int* granted, const mosquitto_property*) {
  auto* watcher = static_cast<Watcher*>(data);
  watcher->subscribed = true;
  watcher->refused = count < 1 || granted[0] >= 0x80;
}

void OnWatcherMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
  auto* watcher = static_cast<Watcher*>(data);
  std::int64_t now = NowNs();
  ++watcher->messages;
  const char* payload = static_cast<const char*>(message->payload);
  std::size_t length = message->payloadlen > 0 ? static_cast<std::size_t>(message->payloadlen) : 0;
  auto has = [&](const char* text) { return memmem(payload, length, text, std::strlen(text)) != nullptr; };
  if (has("\"state\":\"online\"") && watcher->online_ns == 0) watcher->online_ns = now;
  if (has("\"state\":\"offline\"") && watcher->offline_ns == 0) watcher->offline_ns = now;
}

void OnSubjectConnect(mosquitto*, void* data, int reason, int, const mosquitto_property*) {
  static_cast<Subject*>(data)->connack = reason;
}

void OnSubjectPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
  auto* subject = static_cast<Subject*>(data);
  ++subject->acked;
  if (reason >= 0x80) ++subject->rejected;
}

// One kind of change ("online" or "offline") over all rounds.
struct ChangeResult {
  std::string name;
  std::int64_t expected = 0;   // watchers x rounds
  std::int64_t delivered = 0;  // messages that arrived, i.e. the broker's deliveries for this change
  std::vector<double> round_ms;  // per round: from the trigger until the last watcher had the message
  std::vector<std::int64_t> latencies_ns;  // per delivery, all rounds
  double median_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double deliveries_per_s = 0;  // all deliveries over the summed round times

  void Finish() {
    if (round_ms.empty()) return;
    std::vector<double> sorted = round_ms;
    std::sort(sorted.begin(), sorted.end());
    median_ms = sorted[sorted.size() / 2];
    min_ms = sorted.front();
    max_ms = sorted.back();
    chat::bench::LatencySummary summary = chat::bench::Summarize(latencies_ns);
    p50_ms = summary.p50_ms;
    p99_ms = summary.p99_ms;
    double total_ms = 0;
    for (double ms : round_ms) total_ms += ms;
    if (total_ms > 0) deliveries_per_s = static_cast<double>(delivered) / total_ms * 1e3;
  }
};

struct PhaseResult {
  std::string name;  // "plugin" or "bare"
  int watchers = 0;
  bool completed = false;
  std::string error;
  double connect_s = 0;  // connecting and subscribing all watchers (not part of the measurements)
  int login_retry_rounds = 0;  // pauses for logins refused for the plugin's hashing budget (untimed)
  std::vector<ChangeResult> changes;
  std::int64_t extra_messages = 0;  // deliveries beyond one per change per watcher (should be 0)
  double broker_cpu_s = 0;          // the broker's whole life, connecting included
};

// Users and contacts straight into the store, through the same code as chatctl and the contact service's
// writes, while the broker is stopped. One open of RocksDB instead of one per user.
std::string PrepareStore(const chat::harness::BrokerProcess& broker, int watchers) {
  auto config = chat::config::LoadServerConfig(broker.chat_config_path());
  if (!config.ok()) return config.status().ToString();
  auto store = chat::storage::RocksDbStore::Open(config->data_dir, config->durability);
  if (!store.ok()) return store.status().ToString();
  chat::core::SystemClock clock;
  chat::core::AccountService accounts(**store, clock, config->auth);
  if (auto s = accounts.AddUser(kSubject, kPassword, false); !s.ok()) return s.ToString();
  chat::core::WriteSet writes;
  for (int i = 0; i < watchers; ++i) {
    std::string user = WatcherUser(i);
    if (auto s = accounts.AddUser(user, kPassword, false); !s.ok()) return user + ": " + s.ToString();
    writes.contacts.push_back({kSubject, user, chat::core::ContactState::kContact});
    writes.contacts.push_back({user, kSubject, chat::core::ContactState::kContact});
  }
  chat::core::Status applied = (*store)->Apply(writes);
  return applied.ok() ? "" : applied.ToString();
}

class Phase {
 public:
  Phase(bool with_plugin, int watchers, const Settings& settings)
      : with_plugin_(with_plugin), watchers_(static_cast<std::size_t>(watchers)), settings_(settings) {}

  PhaseResult Run(int port) {
    PhaseResult result;
    result.name = with_plugin_ ? "plugin" : "bare";
    result.watchers = static_cast<int>(watchers_.size());
    deadline_ = Clock::now() + std::chrono::seconds(settings_.timeout_seconds);
    port_ = port;

    std::int64_t start = NowNs();
    result.error = ConnectWatchers();
    if (result.error.empty()) result.error = SubscribeWatchers();
    result.connect_s = static_cast<double>(NowNs() - start) / 1e9;
    if (result.error.empty()) result.error = with_plugin_ ? RunPlugin(&result) : RunBare(&result);
    result.login_retry_rounds = login_retries_;

    for (ChangeResult& change : result.changes) change.Finish();
    for (const Watcher& watcher : watchers_) {
      // Two messages per round, plus the plugin phase's untimed warm-up login and logout.
      int expected = 2 * settings_.rounds + (with_plugin_ ? 2 : 0);
      result.extra_messages += std::max(0, watcher.messages - expected);
    }
    std::vector<mosquitto*> all = WatcherClients();
    if (subject_.client != nullptr && !subject_gone_) all.push_back(subject_.client);
    chat::bench::DisconnectAll(all);
    result.completed = result.error.empty() && result.changes.size() == 2 && result.extra_messages == 0 &&
                       std::all_of(result.changes.begin(), result.changes.end(),
                                   [](const ChangeResult& c) { return c.delivered == c.expected; });
    return result;
  }

 private:
  std::vector<mosquitto*> WatcherClients(std::size_t count = SIZE_MAX) const {
    std::vector<mosquitto*> clients;
    for (std::size_t i = 0; i < std::min(count, watchers_.size()); ++i) clients.push_back(watchers_[i].client);
    return clients;
  }

  std::string Drive(const std::vector<mosquitto*>& clients, const std::function<bool()>& done) {
    return DriveClients(clients, deadline_, settings_.timeout_seconds, done);
  }

  mosquitto* NewClient(const std::string& user, void* data) {
    mosquitto* client = clients_.New(chat::bench::LoadClientId(user, with_plugin_), true, data);
    if (client == nullptr) return nullptr;
    if (with_plugin_) mosquitto_username_pw_set(client, user.c_str(), kPassword);
    return client;
  }

  std::string ConnectWatchers() {
    std::size_t batch = static_cast<std::size_t>(settings_.connect_batch);
    for (std::size_t first = 0; first < watchers_.size(); first += batch) {
      std::size_t end = std::min(watchers_.size(), first + batch);
      for (std::size_t i = first; i < end; ++i) {
        Watcher& watcher = watchers_[i];
        watcher.client = NewClient(WatcherUser(static_cast<int>(i)), &watcher);
        if (watcher.client == nullptr) return "mosquitto_new failed";
        mosquitto_connect_v5_callback_set(watcher.client, OnWatcherConnect);
        mosquitto_subscribe_v5_callback_set(watcher.client, OnWatcherSubscribe);
        mosquitto_message_v5_callback_set(watcher.client, OnWatcherMessage);
        if (int rc = mosquitto_connect(watcher.client, "127.0.0.1", port_, 60); rc != MOSQ_ERR_SUCCESS) {
          return "connect " + WatcherUser(static_cast<int>(i)) + ": " + mosquitto_strerror(rc);
        }
      }
      if (std::string error = AwaitLogins(first, end); !error.empty()) return error;
    }
    return "";
  }

  // Drives watchers [first, end) until every one is logged in. The plugin refuses uncached logins beyond
  // its password-hashing budget (auth settings), and clients are to retry: refused ones reconnect after
  // a pause, a bounded number of times. A refused login closes the socket right after the CONNACK, so a
  // lost connection is expected then and reported only when no refusal explains it.
  std::string AwaitLogins(std::size_t first, std::size_t end) {
    constexpr int kMaxAttempts = 200;
    auto batch_begin = watchers_.begin() + static_cast<std::ptrdiff_t>(first);
    auto batch_end = watchers_.begin() + static_cast<std::ptrdiff_t>(end);
    for (int attempt = 1;; ++attempt) {
      std::string error = Drive(WatcherClients(end), [&] {
        return std::all_of(batch_begin, batch_end, [](const Watcher& w) { return w.connack >= 0; });
      });
      std::vector<std::size_t> refused;
      for (std::size_t i = first; i < end; ++i) {
        if (watchers_[i].connack > 0) refused.push_back(i);
      }
      if (refused.empty()) return error.empty() ? "" : "connecting watchers: " + error;
      if (attempt == kMaxAttempts || chat::bench::Interrupted() || Clock::now() >= deadline_) {
        return "login refused for " + WatcherUser(static_cast<int>(refused.front())) + " (CONNACK " +
               std::to_string(watchers_[refused.front()].connack) + ") after " + std::to_string(attempt) +
               " attempts";
      }
      ++login_retries_;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the hashing budget refill
      for (std::size_t i : refused) {
        watchers_[i].connack = -1;
        if (int rc = mosquitto_reconnect(watchers_[i].client); rc != MOSQ_ERR_SUCCESS) {
          return "reconnect " + WatcherUser(static_cast<int>(i)) + ": " + mosquitto_strerror(rc);
        }
      }
    }
  }

  std::string SubscribeWatchers() {
    std::string topic = with_plugin_ ? chat::core::PresenceTopic(kSubject) : kBareTopic;
    for (Watcher& watcher : watchers_) {
      if (int rc = mosquitto_subscribe_v5(watcher.client, nullptr, topic.c_str(), 1, 0, nullptr);
          rc != MOSQ_ERR_SUCCESS) {
        return std::string("subscribe: ") + mosquitto_strerror(rc);
      }
    }
    std::string error = Drive(WatcherClients(), [&] {
      return std::all_of(watchers_.begin(), watchers_.end(), [](const Watcher& w) { return w.subscribed; });
    });
    if (!error.empty()) return "subscribing: " + error;
    std::size_t refused = std::count_if(watchers_.begin(), watchers_.end(), [](const Watcher& w) { return w.refused; });
    if (refused > 0) return std::to_string(refused) + " subscriptions to " + topic + " refused";
    return "";
  }

  // Connects the subject's client (plugin: its login is the change being measured).
  std::string ConnectSubject() {
    clients_.Destroy(subject_.client);
    subject_ = Subject{};
    subject_gone_ = false;
    subject_.client = NewClient(kSubject, &subject_);
    if (subject_.client == nullptr) return "mosquitto_new failed";
    mosquitto_connect_v5_callback_set(subject_.client, OnSubjectConnect);
    mosquitto_publish_v5_callback_set(subject_.client, OnSubjectPublish);
    if (int rc = mosquitto_connect(subject_.client, "127.0.0.1", port_, 60); rc != MOSQ_ERR_SUCCESS) {
      return std::string("connect subject: ") + mosquitto_strerror(rc);
    }
    return "";
  }

  // The accumulator for `name`, created on first use.
  static ChangeResult& ChangeNamed(PhaseResult* result, const std::string& name) {
    for (ChangeResult& change : result->changes) {
      if (change.name == name) return change;
    }
    result->changes.push_back(ChangeResult{});
    result->changes.back().name = name;
    return result->changes.back();
  }

  // Drives everything until every watcher has the message `arrival` picks, then adds up from `start_ns`.
  std::string AwaitChange(const std::string& name, std::int64_t start_ns, std::int64_t Watcher::*arrival,
                          bool with_subject, PhaseResult* result) {
    std::vector<mosquitto*> clients = WatcherClients();
    if (with_subject) clients.push_back(subject_.client);
    std::string error = Drive(clients, [&] {
      if (with_subject && subject_.connack < 0) return false;
      return std::all_of(watchers_.begin(), watchers_.end(), [&](const Watcher& w) { return w.*arrival != 0; });
    });
    ChangeResult& change = ChangeNamed(result, name);
    change.expected += static_cast<std::int64_t>(watchers_.size());
    std::int64_t last = start_ns;
    for (const Watcher& watcher : watchers_) {
      if (watcher.*arrival == 0) continue;
      ++change.delivered;
      change.latencies_ns.push_back(watcher.*arrival - start_ns);
      last = std::max(last, watcher.*arrival);
    }
    change.round_ms.push_back(static_cast<double>(last - start_ns) / 1e6);
    if (subject_.connack > 0) return "subject's login refused (CONNACK " + std::to_string(subject_.connack) + ")";
    return error.empty() ? "" : name + ": " + error;
  }

  void ResetArrivals() {
    for (Watcher& watcher : watchers_) watcher.online_ns = watcher.offline_ns = 0;
  }

  bool AllHave(std::int64_t Watcher::*arrival) const {
    return std::all_of(watchers_.begin(), watchers_.end(), [&](const Watcher& w) { return w.*arrival != 0; });
  }

  // A clean logout of the subject: bye, its PUBACK (the plugin has marked the session as logging out),
  // then DISCONNECT. Does not wait for the watchers.
  std::string LogOutSubject() {
    std::string bye = chat::core::RequestTopic(chat::core::RequestOp::kBye);
    if (int rc = mosquitto_publish_v5(subject_.client, nullptr, bye.c_str(), 2, "{}", 1, false, nullptr);
        rc != MOSQ_ERR_SUCCESS) {
      return std::string("bye: ") + mosquitto_strerror(rc);
    }
    std::vector<mosquitto*> clients = WatcherClients();
    clients.push_back(subject_.client);
    if (std::string error = Drive(clients, [&] { return subject_.acked > 0; }); !error.empty()) return "bye: " + error;
    if (subject_.rejected > 0) return "bye refused";
    chat::bench::DisconnectAll({subject_.client});
    subject_gone_ = true;
    return "";
  }

  // Untimed: logs the subject in (retrying a login refused for the hashing budget, which the watchers may
  // just have used up) and out once, so every timed round is a login from the credential cache, as a
  // reconnect is.
  std::string WarmUpSubject() {
    constexpr int kMaxAttempts = 200;
    ResetArrivals();
    for (int attempt = 1;; ++attempt) {
      if (std::string error = ConnectSubject(); !error.empty()) return error;
      std::vector<mosquitto*> clients = WatcherClients();
      clients.push_back(subject_.client);
      std::string error = Drive(clients, [&] { return subject_.connack == 0 && AllHave(&Watcher::online_ns); });
      if (subject_.connack == 0 && error.empty()) break;
      if (subject_.connack <= 0 || attempt == kMaxAttempts) {
        return "warm-up login: " + (error.empty() ? "CONNACK " + std::to_string(subject_.connack) : error);
      }
      ++login_retries_;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (std::string error = LogOutSubject(); !error.empty()) return "warm-up: " + error;
    std::string error = Drive(WatcherClients(), [&] { return AllHave(&Watcher::offline_ns); });
    return error.empty() ? "" : "warm-up logout: " + error;
  }

  std::string RunPlugin(PhaseResult* result) {
    if (std::string error = WarmUpSubject(); !error.empty()) return error;
    for (int round = 0; round < settings_.rounds; ++round) {
      ResetArrivals();
      std::int64_t start = NowNs();
      if (std::string error = ConnectSubject(); !error.empty()) return error;
      if (std::string error = AwaitChange("online", start, &Watcher::online_ns, true, result); !error.empty()) {
        return error;
      }
      start = NowNs();
      if (std::string error = LogOutSubject(); !error.empty()) return error;
      if (std::string error = AwaitChange("offline", start, &Watcher::offline_ns, false, result); !error.empty()) {
        return error;
      }
    }
    return "";
  }

  std::string RunBare(PhaseResult* result) {
    if (std::string error = ConnectSubject(); !error.empty()) return error;
    std::vector<mosquitto*> clients = WatcherClients();
    clients.push_back(subject_.client);
    if (std::string error = Drive(clients, [&] { return subject_.connack >= 0; }); !error.empty()) {
      return "publisher: " + error;
    }
    struct Step {
      const char* state;
      std::int64_t Watcher::*arrival;
    };
    for (int round = 0; round < settings_.rounds; ++round) {
      ResetArrivals();
      for (const Step& step : {Step{"online", &Watcher::online_ns}, Step{"offline", &Watcher::offline_ns}}) {
        json payload = {
            {"type", "presence"}, {"user", kSubject}, {"state", step.state}, {"last_active_at", 1795631786080}};
        std::string text = payload.dump();
        std::int64_t start = NowNs();
        if (int rc = mosquitto_publish_v5(subject_.client, nullptr, kBareTopic, static_cast<int>(text.size()),
                                          text.data(), 1, true, nullptr);
            rc != MOSQ_ERR_SUCCESS) {
          return std::string("publish: ") + mosquitto_strerror(rc);
        }
        if (std::string error = AwaitChange(step.state, start, step.arrival, true, result); !error.empty()) {
          return error;
        }
      }
    }
    return "";
  }

  bool with_plugin_;
  std::vector<Watcher> watchers_;  // sized once: callbacks hold pointers into it
  Subject subject_;
  bool subject_gone_ = false;
  const Settings& settings_;
  int login_retries_ = 0;
  Clock::time_point deadline_;
  int port_ = 0;
  chat::bench::ClientPool clients_;  // last: its clients go before the state their callbacks use
};

PhaseResult RunPhaseWithBroker(bool with_plugin, int watchers, const Settings& settings) {
  chat::harness::BrokerOptions options;
  options.with_plugin = with_plugin;
  chat::harness::BrokerProcess broker(options);
  PhaseResult failed;
  failed.name = with_plugin ? "plugin" : "bare";
  failed.watchers = watchers;
  if (with_plugin) {
    if (std::string error = PrepareStore(broker, watchers); !error.empty()) {
      failed.error = "preparing the store: " + error;
      return failed;
    }
  }
  if (std::string error = broker.Start(); !error.empty()) {
    failed.error = "starting the broker: " + error;
    return failed;
  }
  std::cout << failed.name << ": " << watchers << " watchers on port " << broker.mqtt_port() << "..." << std::endl;
  Phase phase(with_plugin, watchers, settings);
  PhaseResult result = phase.Run(broker.mqtt_port());
  if (!result.completed) result.error += BrokerLogTail(broker.log());
  return result;
}

// The broker's CPU time shows up in RUSAGE_CHILDREN once the harness has reaped it (on destruction).
PhaseResult RunPhase(bool with_plugin, int watchers, const Settings& settings) {
  double before = CpuSeconds(RUSAGE_CHILDREN);
  PhaseResult result = RunPhaseWithBroker(with_plugin, watchers, settings);
  result.broker_cpu_s = CpuSeconds(RUSAGE_CHILDREN) - before;
  return result;
}

json ToJson(const PhaseResult& r) {
  json changes = json::object();
  for (const ChangeResult& c : r.changes) {
    changes[c.name] = {{"expected", c.expected},
                       {"delivered", c.delivered},
                       {"round_ms", c.round_ms},
                       {"median_round_ms", c.median_ms},
                       {"min_round_ms", c.min_ms},
                       {"max_round_ms", c.max_ms},
                       {"latency_p50_ms", c.p50_ms},
                       {"latency_p99_ms", c.p99_ms},
                       {"deliveries_per_s", c.deliveries_per_s}};
  }
  json out = {{"completed", r.completed},         {"connect_and_subscribe_s", r.connect_s},
              {"login_retry_rounds", r.login_retry_rounds},
              {"changes", changes},               {"extra_messages", r.extra_messages},
              {"broker_cpu_s", r.broker_cpu_s}};
  if (!r.error.empty()) out["error"] = r.error;
  return out;
}

const ChangeResult* FindChange(const PhaseResult& r, const std::string& name) {
  for (const ChangeResult& c : r.changes) {
    if (c.name == name) return &c;
  }
  return nullptr;
}


int Main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"bench-presence: a presence change to N watching contacts, chat plugin vs. one retained publish"};
  app.add_option("--watchers", settings.watchers, "watcher counts to run, e.g. 100,500,5000")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(1, 9000));  // max_connections is 10000 per listener; the open-file limit 20000
  chat::bench::AddBoundedOption(app, "--rounds", &settings.rounds, "online/offline pairs per size", 1, 1000);
  chat::bench::AddBoundedOption(app, "--connect-batch", &settings.connect_batch,
                                "watchers connecting at once", 1, 1000);
  chat::bench::AddCommonOptions(app, &settings.timeout_seconds, &settings.out);
  CLI11_PARSE(app, argc, argv);

  return chat::bench::RunBenchmark("bench-presence", [&] {
    struct SizeResult {
      PhaseResult plugin;
      PhaseResult bare;
    };
    std::vector<SizeResult> results;
    for (int watchers : settings.watchers) {
      if (chat::bench::Interrupted()) break;
      SizeResult size;
      size.plugin = RunPhase(true, watchers, settings);
      if (chat::bench::Interrupted()) break;
      size.bare = RunPhase(false, watchers, settings);
      results.push_back(std::move(size));
    }

    const chat::bench::Table table(
        "watchers:8 phase:-7 change:-8 delivered:10 expected:10 median_ms:10.2 min_ms:9.2 "
        "max_ms:9.2 p50_ms:9.2 p99_ms:9.2 deliveries/s:13 extra:6 brk_cpu_s:10.3");
    std::printf("\n");
    table.PrintHeader();
    bool all_completed = true;
    json out = {{"settings",
                 RunSettings({{"watchers", settings.watchers},
                              {"rounds", settings.rounds},
                              {"connect_batch", settings.connect_batch},
                              {"plugin_online_timed_from", "the subject's TCP connect (its login publishes the change)"},
                              {"plugin_offline_timed_from", "the subject's bye publish (bye, PUBACK, DISCONNECT)"},
                              {"bare_timed_from", "the retained publish"}})},
                {"results", json::array()}};
    for (const SizeResult& size : results) {
      json entry = {{"watchers", size.plugin.watchers}};
      for (const PhaseResult* r : {&size.plugin, &size.bare}) {
        for (const ChangeResult& c : r->changes) {
          table.PrintRow({std::int64_t{r->watchers}, r->name, c.name, std::int64_t{c.delivered},
                          std::int64_t{c.expected}, c.median_ms, c.min_ms, c.max_ms, c.p50_ms, c.p99_ms,
                          c.deliveries_per_s, std::int64_t{r->extra_messages}, r->broker_cpu_s});
        }
        all_completed &= chat::bench::NoteIncomplete(std::to_string(r->watchers) + " watchers, " + r->name,
                                                     r->completed, r->error);
        entry[r->name] = ToJson(*r);
      }
      json ratio = json::object();
      for (const char* change : {"online", "offline"}) {
        const ChangeResult* plugin = FindChange(size.plugin, change);
        const ChangeResult* bare = FindChange(size.bare, change);
        if (plugin == nullptr || bare == nullptr) continue;
        ratio[change] = Ratio(plugin->median_ms, bare->median_ms);
        std::printf("%8d ratio plugin/bare, %s: median round %.2f\n", size.plugin.watchers, change,
                    ratio[change].get<double>());
      }
      entry["ratio_plugin_over_bare_median_round"] = ratio;
      out["results"].push_back(entry);
    }
    return WriteResults("bench-presence", settings.out, out, all_completed);
  });
}

}  // namespace
}  // namespace chat::bench

int main(int argc, char** argv) { return chat::bench::Main(argc, argv); }
