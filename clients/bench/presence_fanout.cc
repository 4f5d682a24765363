// Presence fan-out: how long one user's presence change takes to reach W watchers. Chat server: user
// "subject" and W contacts of it, each with one device subscribed to chat/v1/presence/subject; "online"
// is timed from the subject's TCP connect (its login is the change) until every watcher has it, "offline"
// from its bye (bye, its PUBACK, then DISCONNECT: a clean logout, published at once) until every watcher
// has it. Bare Mosquitto: W subscribers of one topic and one connected publisher publishing a retained
// QoS 1 message, "online" then "offline" (the chat server's payloads), each timed from the publish.
//
// Each round repeats the pair of changes on one broker and reports the median change. The chat server's
// subject first logs in and out once, untimed, so every timed login comes from the credential cache, as a
// reconnect's does.
#include <mosquitto.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/bench/suite.h"
#include "core/topic_format.h"

namespace chat::bench {
namespace {

constexpr char kSubject[] = "subject";
constexpr char kBarePresenceTopic[] = "bench/presence/subject";
// Watchers connecting at once, so the broker's listen backlog never overflows (an overflow costs a
// one-second SYN retry).
constexpr std::size_t kConnectBatch = 100;

struct PresenceLoad {
  int watchers = 500;
  int changes = 5;  // online/offline pairs per round
};

std::string WatcherUser(std::size_t i) {
  char name[24];
  std::snprintf(name, sizeof(name), "w%05zu", i);
  return name;
}

// One watcher's device. Callbacks run on the one loop thread, so no synchronisation.
struct Watcher {
  mosquitto* client = nullptr;
  int connack = -1;  // -1 until the CONNACK arrives
  bool subscribed = false;
  bool subscription_refused = false;
  std::int64_t online_ns = 0;  // arrival of the current change's "online" / "offline" message; 0 before
  std::int64_t offline_ns = 0;
  int messages = 0;  // presence messages over the whole run
};

// The user whose presence changes (chat) or the publisher (bare).
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
  Watcher* watcher = static_cast<Watcher*>(data);
  watcher->subscribed = true;
  watcher->subscription_refused = count < 1 || granted[0] >= 0x80;
}

void OnWatcherMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
  Watcher* watcher = static_cast<Watcher*>(data);
  std::int64_t now = NowNs();
  ++watcher->messages;
  std::size_t length = message->payloadlen > 0 ? static_cast<std::size_t>(message->payloadlen) : 0;
  auto has = [&](const char* text) { return memmem(message->payload, length, text, std::strlen(text)) != nullptr; };
  if (has("\"state\":\"online\"") && watcher->online_ns == 0) watcher->online_ns = now;
  if (has("\"state\":\"offline\"") && watcher->offline_ns == 0) watcher->offline_ns = now;
}

void OnSubjectConnect(mosquitto*, void* data, int reason, int, const mosquitto_property*) {
  static_cast<Subject*>(data)->connack = reason;
}

void OnSubjectPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
  Subject* subject = static_cast<Subject*>(data);
  ++subject->acked;
  if (reason >= 0x80) ++subject->rejected;
}

class PresenceRun {
 public:
  PresenceRun(const PresenceLoad& load, Server server, const SuiteContext& context, std::string label)
      : load_(load),
        server_(server),
        context_(context),
        label_(std::move(label)),
        watchers_(static_cast<std::size_t>(load.watchers)) {}

  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement result;
    deadline_ = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    port_ = broker.mqtt_port();
    result.error = ConnectWatchers();
    if (result.error.empty()) result.error = SubscribeWatchers();
    if (result.error.empty()) result.error = chat() ? WarmUpSubject() : ConnectSubject(true);
    double generator_before = CpuSeconds(RUSAGE_SELF);
    BrokerCpu broker_before = ReadBrokerCpu(broker);  // the watchers' logins are not what a change costs
    for (int change = 1; change <= load_.changes && result.error.empty(); ++change) {
      ShowProgress(label_ + ": change " + std::to_string(change) + "/" + std::to_string(load_.changes));
      result.error = OnlineThenOffline();
    }
    BrokerCpu broker_after = ReadBrokerCpu(broker);
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - generator_before;
    result.broker_cpu_s = broker_after.process_s - broker_before.process_s;
    std::vector<mosquitto*> clients = WatcherClients();
    clients.push_back(subject_.client);
    DisconnectAll(clients);

    // Each change once per watcher, plus the chat server's untimed warm-up login and logout.
    int expected_messages = 2 * load_.changes + (chat() ? 2 : 0);
    std::size_t extra = static_cast<std::size_t>(std::count_if(
        watchers_.begin(), watchers_.end(), [&](const Watcher& w) { return w.messages > expected_messages; }));
    result.completed = result.error.empty() && extra == 0;
    if (result.error.empty() && !result.completed) {
      result.error = std::to_string(extra) + " watchers got more presence messages than the changes made";
    }
    result.Set("online_p50_ms", Median(online_ms_));
    result.Set("offline_p50_ms", Median(offline_ms_));
    // Per watcher and change: the chat server's includes the subject's login and logout.
    double watcher_changes = 2.0 * load_.changes * load_.watchers;
    result.Set("broker_cpu_us_per_watcher", result.broker_cpu_s * 1e6 / watcher_changes);
    return result;
  }

 private:
  bool chat() const { return server_ == Server::kChat; }

  std::vector<mosquitto*> WatcherClients(std::size_t count = SIZE_MAX) const {
    std::vector<mosquitto*> clients;
    for (std::size_t i = 0; i < std::min(count, watchers_.size()); ++i) clients.push_back(watchers_[i].client);
    return clients;
  }

  std::vector<mosquitto*> EveryClient() const {
    std::vector<mosquitto*> clients = WatcherClients();
    clients.push_back(subject_.client);
    return clients;
  }

  std::string Drive(const std::vector<mosquitto*>& clients, const std::function<bool()>& done) {
    return DriveClients(clients, deadline_, context_.timeout_seconds, done);
  }

  bool AllHave(std::int64_t Watcher::*arrival) const {
    return std::all_of(watchers_.begin(), watchers_.end(), [&](const Watcher& w) { return w.*arrival != 0; });
  }

  mosquitto* NewClient(const std::string& user, void* data) {
    mosquitto* client = clients_.New(BenchClientId(server_, user), true, data);
    if (client != nullptr) mosquitto_username_pw_set(client, user.c_str(), kBenchPassword);
    return client;
  }

  std::string ConnectWatchers() {
    for (std::size_t first = 0; first < watchers_.size(); first += kConnectBatch) {
      ShowProgress(label_ + ": connecting watchers " + std::to_string(first) + "/" + std::to_string(watchers_.size()));
      std::size_t end = std::min(watchers_.size(), first + kConnectBatch);
      for (std::size_t i = first; i < end; ++i) {
        Watcher& watcher = watchers_[i];
        watcher.client = NewClient(WatcherUser(i), &watcher);
        if (watcher.client == nullptr) return "mosquitto_new failed for " + WatcherUser(i);
        mosquitto_connect_v5_callback_set(watcher.client, OnWatcherConnect);
        mosquitto_subscribe_v5_callback_set(watcher.client, OnWatcherSubscribe);
        mosquitto_message_v5_callback_set(watcher.client, OnWatcherMessage);
        if (int rc = mosquitto_connect(watcher.client, "127.0.0.1", port_, 60); rc != MOSQ_ERR_SUCCESS) {
          return "connect " + WatcherUser(i) + ": " + mosquitto_strerror(rc);
        }
      }
      std::string error = AwaitConnacks(
          WatcherClients(end), deadline_, context_.timeout_seconds, [&](std::size_t i) { return watchers_[i].connack; },
          [&](std::size_t i) {
            return "login refused for " + WatcherUser(i) + " (CONNACK " + std::to_string(watchers_[i].connack) + ")";
          },
          "connecting watchers");
      if (!error.empty()) return error;
    }
    return "";
  }

  std::string SubscribeWatchers() {
    std::string topic = chat() ? core::PresenceTopic(kSubject) : kBarePresenceTopic;
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
    auto refused = std::count_if(watchers_.begin(), watchers_.end(), [](const Watcher& w) { return w.subscription_refused; });
    if (refused > 0) return std::to_string(refused) + " subscriptions to " + topic + " refused";
    return "";
  }

  // Connects the subject's client anew (chat: its login is the online change); with `await`, waits for
  // its CONNACK.
  std::string ConnectSubject(bool await) {
    clients_.Destroy(subject_.client);
    subject_ = Subject{};
    subject_.client = NewClient(kSubject, &subject_);
    if (subject_.client == nullptr) return "mosquitto_new failed for the subject";
    mosquitto_connect_v5_callback_set(subject_.client, OnSubjectConnect);
    mosquitto_publish_v5_callback_set(subject_.client, OnSubjectPublish);
    if (int rc = mosquitto_connect(subject_.client, "127.0.0.1", port_, 60); rc != MOSQ_ERR_SUCCESS) {
      return std::string("connect subject: ") + mosquitto_strerror(rc);
    }
    if (!await) return "";
    std::string error = Drive(EveryClient(), [&] { return subject_.connack >= 0; });
    if (subject_.connack > 0) return "the subject's login refused (CONNACK " + std::to_string(subject_.connack) + ")";
    return error.empty() ? "" : "connecting the subject: " + error;
  }

  // Publishes on the subject's client and waits for its PUBACK; "" or the error.
  std::string PublishAcknowledged(const std::string& topic, const std::string& payload, bool retain) {
    int acked = subject_.acked;
    if (int rc = mosquitto_publish_v5(subject_.client, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                                      payload.data(), 1, retain, nullptr);
        rc != MOSQ_ERR_SUCCESS) {
      return topic + ": " + mosquitto_strerror(rc);
    }
    if (std::string error = Drive(EveryClient(), [&] { return subject_.acked > acked; }); !error.empty()) {
      return topic + ": " + error;
    }
    return subject_.rejected > 0 ? topic + ": refused" : "";
  }

  // Chat: a clean logout of the subject (bye, its PUBACK: the plugin has marked the session as logging
  // out; then DISCONNECT). Does not wait for the watchers.
  std::string LogOutSubject() {
    if (std::string error = PublishAcknowledged(core::RequestTopic(core::RequestOp::kBye), "{}", false);
        !error.empty()) {
      return error;
    }
    DisconnectAll({subject_.client});
    return "";
  }

  // Chat, untimed: the subject logs in and out once, so that every timed login is served from the
  // credential cache.
  std::string WarmUpSubject() {
    if (std::string error = ConnectSubject(true); !error.empty()) return "warm-up: " + error;
    if (std::string error = Drive(EveryClient(), [&] { return AllHave(&Watcher::online_ns); }); !error.empty()) {
      return "warm-up login: " + error;
    }
    if (std::string error = LogOutSubject(); !error.empty()) return "warm-up logout: " + error;
    std::string error = Drive(WatcherClients(), [&] { return AllHave(&Watcher::offline_ns); });
    return error.empty() ? "" : "warm-up logout: " + error;
  }

  // Bare: the publish that stands for the chat server's change to `state`.
  std::string PublishPresence(const char* state) {
    std::string payload = std::string(R"({"type":"presence","user":")") + kSubject + R"(","state":")" + state +
                          R"(","last_active_at":1795631786080})";
    return PublishAcknowledged(kBarePresenceTopic, payload, true);
  }

  // Drives everyone until every watcher has the change `arrival` records; adds the time from `start_ns`
  // until the last one had it to `times_ms`.
  std::string AwaitChange(const char* state, std::int64_t start_ns, std::int64_t Watcher::*arrival,
                          std::vector<double>* times_ms) {
    std::vector<mosquitto*> clients = WatcherClients();
    // The chat subject is gone once it logged out; otherwise its CONNACK may still be due.
    if (mosquitto_socket(subject_.client) >= 0) clients.push_back(subject_.client);
    std::string error = Drive(clients, [&] { return subject_.connack >= 0 && AllHave(arrival); });
    if (subject_.connack > 0) return "the subject's login refused (CONNACK " + std::to_string(subject_.connack) + ")";
    if (!error.empty()) return std::string(state) + ": " + error;
    std::int64_t last_ns = start_ns;
    for (const Watcher& watcher : watchers_) last_ns = std::max(last_ns, watcher.*arrival);
    times_ms->push_back(static_cast<double>(last_ns - start_ns) / 1e6);
    return "";
  }

  // One timed online change, then one timed offline change.
  std::string OnlineThenOffline() {
    for (Watcher& watcher : watchers_) watcher.online_ns = watcher.offline_ns = 0;
    std::int64_t start_ns = NowNs();
    std::string error = chat() ? ConnectSubject(false) : PublishPresence("online");
    if (error.empty()) error = AwaitChange("online", start_ns, &Watcher::online_ns, &online_ms_);
    if (!error.empty()) return error;
    start_ns = NowNs();
    error = chat() ? LogOutSubject() : PublishPresence("offline");
    if (error.empty()) error = AwaitChange("offline", start_ns, &Watcher::offline_ns, &offline_ms_);
    return error;
  }

  const PresenceLoad& load_;
  Server server_;
  const SuiteContext& context_;
  std::string label_;
  Clock::time_point deadline_;
  int port_ = 0;
  std::vector<Watcher> watchers_;  // sized once: callbacks hold pointers into it
  Subject subject_;
  std::vector<double> online_ms_;  // per change: until the last watcher had it
  std::vector<double> offline_ms_;
  ClientPool clients_;  // last: its clients go before the state their callbacks use
};

ServerSetup PresenceSetup(const PresenceLoad& load) {
  ServerSetup setup;
  setup.users.push_back(kSubject);
  for (std::size_t i = 0; i < static_cast<std::size_t>(load.watchers); ++i) {
    setup.users.push_back(WatcherUser(i));
    setup.contacts.emplace_back(kSubject, WatcherUser(i));  // contacts see each other's presence
  }
  return setup;
}

Measurement RunPresence(const PresenceLoad& load, Server server, const SuiteContext& context,
                        const std::string& label) {
  return MeasureOnServer(server, PresenceSetup(load), [&](const harness::BrokerProcess& broker) {
    return PresenceRun(load, server, context, label).Run(broker);
  });
}

}  // namespace

// presence, its options (no target: the issue sets none for presence).
void AddPresenceScenarios(Suite& suite, CLI::App& app) {
  static PresenceLoad base;  // the options below write here; the scenario reads it when it runs
  app.add_option("--presence-watchers", base.watchers, "presence: contacts watching the user whose presence changes")
      ->capture_default_str()
      ->check(CLI::Range(1, 9000));  // max_connections is 10,000 per listener
  app.add_option("--presence-changes", base.changes, "presence: online/offline pairs per round (the median is reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));

  Scenario presence{"presence",
                    "one user's login and clean logout reaching its watching contacts (bare: a retained publish "
                    "to as many subscribers)",
                    {{"online_p50_ms", "ms", false},
                     {"offline_p50_ms", "ms", false},
                     {"broker_cpu_us_per_watcher", "us", false}},
                    nullptr,
                    nullptr};
  presence.run = [](Server server, SuiteContext& context) {
    PresenceLoad load = base;
    if (context.quick) {
      load.watchers = std::min(load.watchers, 20);
      load.changes = std::min(load.changes, 2);
    }
    return RunPresence(load, server, context, "presence " + std::string(ServerName(server)));
  };
  suite.Add(presence);
}

const ScenarioFile kPresenceScenarios(30, AddPresenceScenarios);

}  // namespace chat::bench
