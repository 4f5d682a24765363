// Logins under pressure, with production password hashing on the chat server (PBKDF2, 210,000 rounds):
//
// "resume": a node comes back and every device logs in again at once. The chat server starts with
// nothing cached and each device presents the resume token it was issued before (stored in the data
// folder while the broker was down, as the resume_token request stores it); bare Mosquitto's devices
// present their passwords to its password_file. Many devices connect at a time, each logs in and
// subscribes as a real device does; another client pings the broker meanwhile. Figure: seconds until
// every device is served (logged in and subscribed).
//
// "flood": while one client pings the broker, attackers spray wrong passwords over 1,000 accounts from
// one address and other clients make first logins with the right passwords as fast as the server takes
// them (chat: each a PBKDF2); meanwhile the owner of another account logs in with its password, trying
// again while the server asks it to, as clients do. Figures: the ping before and during, the owner's
// seconds to get in, and how many wrong and right logins each server answered per second.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/common/raw_mqtt_client.h"
#include "core/topic_format.h"
#include "harness/ping_probe.h"

namespace chat::bench {
namespace {

using clients::ConnectOutcome;
using clients::RawMqttClient;

// Each address has about 28,000 ephemeral ports, and a closed connection holds its port for a minute:
// the devices and attackers spread over several.
constexpr const char* kDeviceAddresses[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
constexpr char kAttackerAddress[] = "127.0.0.6";
constexpr char kFirstLoginAddress[] = "127.0.0.7";
constexpr int kKeepaliveSeconds = 300;
constexpr auto kLoginRetryPause = std::chrono::milliseconds(100);  // as clients do after a closed login
constexpr char kProbeUser[] = "probe";
constexpr char kOwnerUser[] = "owner";
// Production hashing, as config/chat.yaml has it: the iterations and the broker thread's budget for
// hashing first logins itself (the harness's own settings hash cheaply and inline, for speed).
const std::map<std::string, std::string> kRealHashing = {{"pbkdf2_iterations", "210000"},
                                                         {"inline_hash_rounds_per_second", "420000"}};

struct ResumeLoad {
  int users = 1000;
  int devices_per_user = 10;
  int in_flight = 32;  // devices logging in at the same time
};

struct FloodLoad {
  int victims = 1000;        // accounts the wrong passwords go to
  int first_login_users = 400;  // accounts that log in for the first time during the flood
  int attackers = 4;         // threads spraying wrong passwords
  int first_loggers = 4;     // threads making first logins
  int seconds = 10;
};

std::string Numbered(const char* prefix, int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%05d", prefix, i);
  return name;
}

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void SetPing(const std::string& prefix, const harness::PingStats& ping, Measurement* m) {
  if (ping.count == 0) return;
  m->Set(prefix + "p50_ms", ping.p50_ms);
  m->Set(prefix + "p99_ms", ping.p99_ms);
  m->Set(prefix + "max_ms", ping.max_ms);
}

// Logs `client` in, trying again while the server closes the login without a CONNACK; the outcome.
ConnectOutcome LogIn(RawMqttClient* client, int port, const std::string& client_id, const std::string& user,
                     const std::string& password, const char* source, Clock::time_point deadline) {
  ConnectOutcome outcome;
  while (!Interrupted()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= std::chrono::milliseconds(0)) {
      outcome.kind = ConnectOutcome::Kind::kTimeout;
      break;
    }
    outcome = client->Connect("127.0.0.1", port, client_id, user, password, true, kKeepaliveSeconds, source, left);
    if (outcome.kind != ConnectOutcome::Kind::kClosed) break;
    std::this_thread::sleep_for(kLoginRetryPause);
  }
  return outcome;
}

// --- resume

class ResumeRun {
 public:
  ResumeRun(const ResumeLoad& load, Server server, const SuiteContext& context, const std::vector<std::string>& tokens)
      : load_(load), server_(server), context_(context), tokens_(tokens) {}
  ~ResumeRun() {
    for (auto& device : devices_) {
      if (device) device->Disconnect();
    }
  }

  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement result;
    harness::PingProbe probe;
    if (std::string error = probe.Start(broker.mqtt_port(), kProbeUser, kBenchPassword); !error.empty()) {
      result.error = "ping probe: " + error;
      return result;
    }
    probe.TakeStats();
    std::size_t total = static_cast<std::size_t>(load_.users * load_.devices_per_user);
    devices_.resize(total);
    auto deadline = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    BrokerCpu broker_before = ReadBrokerCpu(broker);
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < load_.in_flight; ++t) {
      threads.emplace_back([&, t] {
        for (std::size_t i = static_cast<std::size_t>(t); i < total && error_.empty(); i += load_.in_flight) {
          std::string error = Serve(i, broker.mqtt_port(), deadline);
          if (!error.empty()) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (error_.empty()) error_ = error;
          }
          ++served_;
        }
      });
    }
    while (served_ < total && error_.empty() && Clock::now() < deadline && !Interrupted()) {
      ShowProgress(std::string("resume ") + ServerName(server_) + ": " + std::to_string(served_.load()) + "/" +
                   std::to_string(total) + " devices served");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (std::thread& thread : threads) thread.join();
    double all_served_s = SecondsSince(start);
    result.broker_cpu_s = ReadBrokerCpu(broker).process_s - broker_before.process_s;
    harness::PingStats ping = probe.Stop();
    result.error = error_;
    result.completed = result.error.empty() && served_ == total && ping.unanswered == 0;
    if (result.completed) result.Set("all_served_s", all_served_s);
    result.Set("logins_per_s", static_cast<double>(served_) / all_served_s);
    SetPing("ping_", ping, &result);
    return result;
  }

 private:
  // Device i logs in (chat: its token; bare: its password) and subscribes.
  std::string Serve(std::size_t i, int port, Clock::time_point deadline) {
    std::string user = Numbered("dev", static_cast<int>(i) / load_.devices_per_user);
    std::string device = "d" + std::to_string(i % static_cast<std::size_t>(load_.devices_per_user));
    std::string client_id = BenchClientId(server_, user, device);
    const std::string& password = server_ == Server::kChat ? tokens_[i] : std::string(kBenchPassword);
    auto client = std::make_unique<RawMqttClient>();
    const char* source = kDeviceAddresses[i % std::size(kDeviceAddresses)];
    ConnectOutcome outcome = LogIn(client.get(), port, client_id, user, password, source, deadline);
    if (outcome.kind != ConnectOutcome::Kind::kAccepted) {
      return client_id + ": " + clients::ConnectOutcomeName(outcome.kind) + " (CONNACK " +
             std::to_string(outcome.code) + ")";
    }
    std::string filter = server_ == Server::kChat ? core::UserTopic(user, "#") : "bench/resume/" + client_id;
    int granted = client->Subscribe(filter);
    if (granted < 0 || granted >= 0x80) return client_id + ": subscription " + std::to_string(granted);
    devices_[i] = std::move(client);
    return "";
  }

  const ResumeLoad& load_;
  Server server_;
  const SuiteContext& context_;
  const std::vector<std::string>& tokens_;
  std::vector<std::unique_ptr<RawMqttClient>> devices_;
  std::atomic<std::size_t> served_{0};
  std::mutex mutex_;
  std::string error_;
};

Measurement RunResume(const ResumeLoad& load, Server server, const SuiteContext& context) {
  int devices = load.users * load.devices_per_user;
  if (std::string error = RaiseOpenFileLimit(devices); !error.empty()) {
    Measurement failed;
    failed.error = error;
    return failed;
  }
  ServerSetup setup;
  std::vector<std::pair<std::string, std::string>> owners;  // (user, device) per device, in order
  for (int u = 0; u < load.users; ++u) {
    setup.users.push_back(Numbered("dev", u));
    for (int d = 0; d < load.devices_per_user; ++d) owners.emplace_back(Numbered("dev", u), "d" + std::to_string(d));
  }
  setup.users.push_back(kProbeUser);
  setup.max_connections = devices + 100;
  setup.chat_auth = kRealHashing;
  // Ten devices per user; a user holds up to 32 tokens.
  setup.chat_limits = "  max_devices_per_user: " + std::to_string(std::max(10, load.devices_per_user)) + "\n";
  std::vector<std::string> tokens;
  setup.prepare_offline = [&](harness::BrokerProcess& broker) { return broker.IssueResumeTokensOffline(owners, &tokens); };
  return MeasureOnServer(server, setup, [&](const harness::BrokerProcess& broker) {
    return ResumeRun(load, server, context, tokens).Run(broker);
  });
}

// --- flood

class FloodRun {
 public:
  FloodRun(const FloodLoad& load, Server server) : load_(load), server_(server) {}

  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement result;
    int port = broker.mqtt_port();
    harness::PingProbe probe;
    if (std::string error = probe.Start(port, kProbeUser, kBenchPassword); !error.empty()) {
      result.error = "ping probe: " + error;
      return result;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    probe.TakeStats();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    harness::PingStats before = probe.TakeStats();

    auto start = Clock::now();
    auto flood_end = start + std::chrono::seconds(load_.seconds);
    std::vector<std::thread> threads;
    for (int t = 0; t < load_.attackers; ++t) threads.emplace_back([&, t] { Attack(port, t, flood_end); });
    for (int t = 0; t < load_.first_loggers; ++t) threads.emplace_back([&] { FirstLogins(port, flood_end); });
    // The owner comes in once the flood is in full swing.
    std::this_thread::sleep_for(std::chrono::seconds(std::min(2, load_.seconds / 2)));
    RawMqttClient owner;
    auto owner_start = Clock::now();
    ConnectOutcome outcome = LogIn(&owner, port, BenchClientId(server_, kOwnerUser, "phone"), kOwnerUser,
                                   kBenchPassword, "127.0.0.1", owner_start + std::chrono::seconds(60));
    double owner_login_s = SecondsSince(owner_start);
    owner.Disconnect();
    for (std::thread& thread : threads) thread.join();
    double flood_s = SecondsSince(start);
    harness::PingStats during = probe.Stop();

    result.completed = outcome.kind == ConnectOutcome::Kind::kAccepted && during.unanswered == 0 && accepted_wrong_ == 0;
    if (outcome.kind != ConnectOutcome::Kind::kAccepted) {
      result.error = std::string("the owner's login: ") + clients::ConnectOutcomeName(outcome.kind);
    } else if (accepted_wrong_ > 0) {
      result.error = std::to_string(accepted_wrong_.load()) + " wrong passwords accepted";
    } else if (during.unanswered > 0) {
      result.error = "pings unanswered: " + during.ToString();
    }
    SetPing("ping_before_", before, &result);
    SetPing("ping_", during, &result);
    result.Set("owner_login_s", owner_login_s);
    result.Set("wrong_answered_per_s", static_cast<double>(wrong_answered_) / flood_s);
    result.Set("first_logins_per_s", static_cast<double>(first_logins_) / flood_s);
    return result;
  }

 private:
  // Wrong passwords over the victims, one connection each, until the flood ends.
  void Attack(int port, int thread, Clock::time_point end) {
    for (int n = 0; Clock::now() < end && !Interrupted(); ++n) {
      std::string user = Numbered("victim", (n * load_.attackers + thread) % load_.victims);
      RawMqttClient client;
      ConnectOutcome outcome = client.Connect("127.0.0.1", port, BenchClientId(server_, user, "x"), user,
                                              "wrong-" + std::to_string(n), true, kKeepaliveSeconds, kAttackerAddress,
                                              std::chrono::seconds(5));
      client.Close();
      if (outcome.kind == ConnectOutcome::Kind::kRefused || outcome.kind == ConnectOutcome::Kind::kClosed) {
        ++wrong_answered_;
      }
      if (outcome.kind == ConnectOutcome::Kind::kAccepted) ++accepted_wrong_;
    }
  }

  // Right passwords of accounts not yet logged in, each until it is in, until the flood ends.
  void FirstLogins(int port, Clock::time_point end) {
    while (Clock::now() < end && !Interrupted()) {
      int i = next_first_login_++;
      if (i >= load_.first_login_users) return;
      std::string user = Numbered("first", i);
      RawMqttClient client;
      ConnectOutcome outcome =
          LogIn(&client, port, BenchClientId(server_, user, "phone"), user, kBenchPassword, kFirstLoginAddress, end);
      client.Disconnect();
      if (outcome.kind == ConnectOutcome::Kind::kAccepted) ++first_logins_;
    }
  }

  const FloodLoad& load_;
  Server server_;
  std::atomic<int> next_first_login_{0};
  std::atomic<std::int64_t> wrong_answered_{0};
  std::atomic<std::int64_t> accepted_wrong_{0};
  std::atomic<std::int64_t> first_logins_{0};
};

Measurement RunFlood(const FloodLoad& load, Server server) {
  ServerSetup setup;
  for (int i = 0; i < load.victims; ++i) setup.users.push_back(Numbered("victim", i));
  for (int i = 0; i < load.first_login_users; ++i) setup.users.push_back(Numbered("first", i));
  setup.users.push_back(kProbeUser);
  setup.users.push_back(kOwnerUser);
  setup.chat_auth = kRealHashing;
  return MeasureOnServer(server, setup, [&](const harness::BrokerProcess& broker) {
    return FloodRun(load, server).Run(broker);
  });
}

}  // namespace

// resume and flood, their options and targets.
void AddLoginScenarios(Suite& suite, CLI::App& app) {
  static ResumeLoad resume_load;  // the options below write here; the scenarios read it when they run
  static FloodLoad flood_load;
  app.add_option("--resume-users", resume_load.users, "resume: accounts, each with --resume-devices devices")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--resume-devices", resume_load.devices_per_user, "resume: devices per account")
      ->capture_default_str()
      ->check(CLI::Range(1, 32));
  app.add_option("--flood-seconds", flood_load.seconds, "flood: how long the attack lasts")
      ->capture_default_str()
      ->check(CLI::Range(2, 600));

  Scenario resume{"resume",
                  "every device logs in again at once after a restart, 32 at a time (chat: its resume token, "
                  "nothing cached; bare: its password) and subscribes; another client pings the broker",
                  {{"all_served_s", "s", false},
                   {"logins_per_s", "login/s", true},
                   {"ping_p50_ms", "ms", false},
                   {"ping_p99_ms", "ms", false},
                   {"ping_max_ms", "ms", false}},
                  nullptr,
                  nullptr};
  resume.run = [](Server server, SuiteContext& context) {
    ResumeLoad load = resume_load;
    if (context.quick) load.users = std::min(load.users, 20);
    return RunResume(load, server, context);
  };
  suite.Add(resume);

  Scenario flood{"flood",
                 "wrong passwords sprayed over 1,000 accounts and first logins as fast as they are taken (chat: "
                 "PBKDF2 210,000 rounds each); another account's owner logs in with its password meanwhile",
                 {{"ping_before_p99_ms", "ms", false},
                  {"ping_p50_ms", "ms", false},
                  {"ping_p99_ms", "ms", false},
                  {"ping_max_ms", "ms", false},
                  {"owner_login_s", "s", false},
                  {"wrong_answered_per_s", "login/s", true},
                  {"first_logins_per_s", "login/s", true}},
                 nullptr,
                 nullptr};
  flood.run = [](Server server, SuiteContext& context) {
    FloodLoad load = flood_load;
    if (context.quick) {
      load.seconds = 2;
      load.victims = std::min(load.victims, 50);
      load.first_login_users = std::min(load.first_login_users, 20);
    }
    return RunFlood(load, server);
  };
  suite.Add(flood);

  using K = Target::Kind;
  suite.AddTarget({"resume", "all_served_s", K::kChatAtMost, 30,
                   "after a restart, 10,000 devices holding a token all served within 30 s"});
  suite.AddTarget({"flood", "ping_p99_ms", K::kChatAtMost, 10,
                   "during a wrong-password flood over 1,000 accounts and first logins at the hash's full rate: "
                   "a connected client's ping p99 <= 10 ms (and the owner gets in)"});
}

const ScenarioFile kLoginScenarios(45, AddLoginScenarios);

}  // namespace chat::bench
