// Idle devices: what a connection costs the broker in resident memory when nothing flows. Many devices,
// each its own account, log in and subscribe as a real device does (chat server: its own
// chat/v1/user/<me>/#; bare Mosquitto: a topic of its own), then stay idle; the broker's RSS is read
// once fresh (started, nobody connected) and once every device is subscribed.
//
// The devices are RawMqttClients (MQTT 3.1.1, one descriptor each): a libmosquitto client holds three
// (its socket and a wake-up socket pair), so 15,000 of them would need more descriptors than a process
// may commonly open (20,000). They log in one after another, from several loopback source addresses,
// so the broker's listen backlog never overflows.
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/common/raw_mqtt_client.h"
#include "core/topic_format.h"

namespace chat::bench {
namespace {

// One address has about 28,000 ephemeral ports, and a closed connection holds its port for a minute
// (TIME_WAIT): a few rounds of 15,000 from one address would run out.
constexpr const char* kSourceAddresses[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
// Far beyond a round, so no PINGREQ flows while the devices are idle; the chat server refuses more.
constexpr int kKeepaliveSeconds = 300;
// Connections per listener beside the devices (the chat server's own session reaper).
constexpr int kSpareConnections = 100;
// The chat server closes a login without a CONNACK while it checks the password off its event loop;
// the device tries again after this pause, as real ones do.
constexpr auto kLoginRetryPause = std::chrono::milliseconds(100);

struct IdleLoad {
  int devices = 15000;
};

std::string DeviceUser(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "idle%05d", i);
  return name;
}


class IdleRun {
 public:
  IdleRun(const IdleLoad& load, Server server, const SuiteContext& context)
      : load_(load), server_(server), context_(context) {}
  ~IdleRun() {
    for (const auto& device : devices_) device->Disconnect();
  }
  IdleRun(const IdleRun&) = delete;
  IdleRun& operator=(const IdleRun&) = delete;

  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement result;
    long rss_fresh_kb = broker.Usage().rss_kb;
    auto deadline = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    double generator_before = CpuSeconds(RUSAGE_SELF);
    BrokerCpu broker_before = ReadBrokerCpu(broker);
    std::int64_t start_ns = NowNs();
    result.error = ConnectAll(broker.mqtt_port(), deadline);
    double connect_s = static_cast<double>(NowNs() - start_ns) / 1e9;
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - generator_before;
    result.broker_cpu_s = ReadBrokerCpu(broker).process_s - broker_before.process_s;
    result.completed = result.error.empty();
    if (!result.completed) return result;  // memory with some devices missing says nothing
    // What the broker still does for the logins off its event loop (the chat server's writes) lands
    // in memory shortly after the last SUBACK.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    long rss_after_kb = broker.Usage().rss_kb;
    result.Set("kb_per_connection", static_cast<double>(rss_after_kb - rss_fresh_kb) / load_.devices);
    result.Set("rss_fresh_mb", static_cast<double>(rss_fresh_kb) / 1024);
    result.Set("rss_after_mb", static_cast<double>(rss_after_kb) / 1024);
    result.Set("connect_s", connect_s);
    return result;
  }

 private:
  // Logs every device in and subscribes it, one after another.
  std::string ConnectAll(int port, Clock::time_point deadline) {
    const std::string label = std::string("connections ") + ServerName(server_);
    devices_.reserve(static_cast<std::size_t>(load_.devices));
    for (int i = 0; i < load_.devices; ++i) {
      ShowProgress(label + ": " + std::to_string(i) + "/" + std::to_string(load_.devices) + " subscribed");
      auto device = std::make_unique<clients::RawMqttClient>();
      if (std::string error = LogIn(device.get(), i, port, deadline); !error.empty()) return error;
      devices_.push_back(std::move(device));
    }
    return "";
  }

  // Device i's login and subscription; "" or the error.
  std::string LogIn(clients::RawMqttClient* device, int i, int port, Clock::time_point deadline) const {
    const std::string user = DeviceUser(i);
    const std::string client_id = BenchClientId(server_, user);
    const char* source = kSourceAddresses[static_cast<std::size_t>(i) % std::size(kSourceAddresses)];
    while (true) {
      if (Interrupted()) return "interrupted";
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= std::chrono::milliseconds(0)) {
        return "timed out after " + std::to_string(context_.timeout_seconds) + " s";
      }
      clients::ConnectOutcome outcome = device->Connect("127.0.0.1", port, client_id, user, kBenchPassword, true,
                                                        kKeepaliveSeconds, source, left);
      if (outcome.kind == clients::ConnectOutcome::Kind::kAccepted) break;
      if (outcome.kind == clients::ConnectOutcome::Kind::kRefused) {
        return "login refused for " + user + " (CONNACK " + std::to_string(outcome.code) + ")";
      }
      if (outcome.kind != clients::ConnectOutcome::Kind::kClosed) {
        return "connecting " + client_id + " from " + source + ": " + clients::ConnectOutcomeName(outcome.kind);
      }
      std::this_thread::sleep_for(kLoginRetryPause);
    }
    const std::string filter = server_ == Server::kChat ? core::UserTopic(user, "#") : "bench/idle/" + user;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    int granted = device->Subscribe(filter, std::max(left, std::chrono::milliseconds(1)));
    if (granted < 0) return "subscribing " + client_id + ": no SUBACK";
    if (granted >= 0x80) return "subscription refused: " + filter;
    return "";
  }

  const IdleLoad& load_;
  Server server_;
  const SuiteContext& context_;
  std::vector<std::unique_ptr<clients::RawMqttClient>> devices_;  // logged in and subscribed
};

Measurement RunIdleConnections(const IdleLoad& load, Server server, const SuiteContext& context) {
  if (std::string error = RaiseOpenFileLimit(load.devices); !error.empty()) {
    Measurement failed;
    failed.error = error;
    return failed;
  }
  ServerSetup setup;
  for (int i = 0; i < load.devices; ++i) setup.users.push_back(DeviceUser(i));
  setup.max_connections = load.devices + kSpareConnections;
  // The devices disconnect before the broker stops.
  return MeasureOnServer(server, setup, [&](const harness::BrokerProcess& broker) {
    return IdleRun(load, server, context).Run(broker);
  });
}

}  // namespace

// connections, its option and target.
void AddIdleConnectionScenarios(Suite& suite, CLI::App& app) {
  static IdleLoad load;  // the option below writes here; the scenario reads it when it runs
  app.add_option("--connections-count", load.devices, "connections: idle devices connected at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  Scenario connections{"connections",
                       "idle devices, logged in and subscribed: the broker's resident memory per connection",
                       {{"kb_per_connection", "KB", false},
                        {"rss_fresh_mb", "MB", false},
                        {"rss_after_mb", "MB", false},
                        {"connect_s", "s", false}},
                       nullptr,
                       nullptr};
  connections.run = [](Server server, SuiteContext& context) {
    IdleLoad run = load;
    if (context.quick) run.devices = std::min(run.devices, 200);
    return RunIdleConnections(run, server, context);
  };
  suite.Add(connections);

  suite.AddTarget({"connections", "kb_per_connection", Target::Kind::kChatAboveBareAtMost, 10,
                   "idle devices at >= 15,000 connections: <= 10 KB per connection above bare's"});
}

const ScenarioFile kIdleConnectionScenarios(50, AddIdleConnectionScenarios);

}  // namespace chat::bench
