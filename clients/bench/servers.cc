#include "clients/bench/servers.h"

namespace chat::bench {
namespace {

// The default per-user limits (sends 20/s, burst 100; requests 50/s, burst 200) would make every
// scenario a benchmark of the rate limiter: the largest the config allows instead.
constexpr char kUnlimitedRates[] =
    "limits:\n  send_rate_per_second: 100000\n  send_burst: 1000000\n"
    "  request_rate_per_second: 100000\n  request_burst: 1000000\n";

}  // namespace

StartedServer StartServer(Server server, const ServerSetup& setup) {
  harness::BrokerOptions options;
  options.with_plugin = server == Server::kChat;
  options.extra_mosquitto_conf = setup.mosquitto_conf;
  options.max_connections = setup.max_connections;
  if (server == Server::kChat) {
    options.extra_yaml = kUnlimitedRates + setup.chat_yaml;
  } else {
    for (const std::string& user : setup.users) options.bare_logins.emplace_back(user, kBenchPassword);
  }
  StartedServer started;
  started.broker = std::make_unique<harness::BrokerProcess>(options);
  if (server == Server::kChat) {
    if (std::string error = started.broker->AddUsersOffline(setup.users, kBenchPassword); !error.empty()) {
      started.error = "creating accounts: " + error;
    } else if (!setup.contacts.empty()) {
      if (std::string contacts = started.broker->AddContactsOffline(setup.contacts); !contacts.empty()) {
        started.error = "creating contacts: " + contacts;
      }
    }
  }
  if (started.error.empty()) {
    if (std::string error = started.broker->Start(); !error.empty()) started.error = "starting the broker: " + error;
  }
  if (!started.error.empty()) started.broker.reset();
  return started;
}

std::string BenchClientId(Server server, const std::string& user, const std::string& device) {
  return server == Server::kChat ? user + ":" + device : "bench-" + user + "-" + device;
}

BrokerCpu ReadBrokerCpu(const harness::BrokerProcess& broker) {
  harness::ProcessUsage usage = broker.Usage();
  return {usage.cpu_seconds, usage.main_thread_cpu_seconds};
}

void NoteBrokerLog(const harness::BrokerProcess& broker, Measurement* measurement) {
  if (!measurement->completed) measurement->error += BrokerLogTail(broker.log());
}

}  // namespace chat::bench
