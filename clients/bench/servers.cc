#include "clients/bench/servers.h"

namespace chat::bench {
namespace {

// The default per-user limits (sends 20/s, burst 100; requests 50/s, burst 200) would make every
// scenario a benchmark of the rate limiter: the largest the config allows instead.
constexpr char kUnlimitedRates[] =
    "limits:\n  send_rate_per_second: 100000\n  send_burst: 1000000\n"
    "  request_rate_per_second: 100000\n  request_burst: 1000000\n";

}  // namespace

harness::BrokerOptions BrokerOptionsFor(Server server, const ServerSetup& setup) {
  harness::BrokerOptions options;
  options.with_plugin = server == Server::kChat;
  options.extra_mosquitto_conf = setup.mosquitto_conf;
  options.max_connections = setup.max_connections;
  if (server == Server::kChat) {
    options.extra_yaml = kUnlimitedRates + setup.chat_limits + setup.chat_yaml;
    options.auth = setup.chat_auth;
  } else {
    for (const std::string& user : setup.users) options.bare_logins.emplace_back(user, kBenchPassword);
  }
  return options;
}

std::string PrepareChatStore(harness::BrokerProcess& broker, const ServerSetup& setup) {
  if (std::string error = broker.AddUsersOffline(setup.users, kBenchPassword); !error.empty()) {
    return "creating accounts: " + error;
  }
  if (setup.prepare_offline) {
    if (std::string error = setup.prepare_offline(broker); !error.empty()) return "preparing the store: " + error;
  }
  if (!setup.contacts.empty()) {
    if (std::string error = broker.AddContactsOffline(setup.contacts); !error.empty()) {
      return "creating contacts: " + error;
    }
  }
  return "";
}

Measurement MeasureOnServer(Server server, const ServerSetup& setup,
                            const std::function<Measurement(const harness::BrokerProcess& broker)>& measure) {
  harness::BrokerProcess broker(BrokerOptionsFor(server, setup));
  Measurement failed;
  if (server == Server::kChat) {
    if (std::string error = PrepareChatStore(broker, setup); !error.empty()) {
      failed.error = error;
      return failed;
    }
  }
  if (std::string error = broker.Start(); !error.empty()) {
    failed.error = "starting the broker: " + error;
    return failed;
  }
  Measurement result = measure(broker);
  if (!result.completed) result.error += BrokerLogTail(broker.log());
  return result;
}

std::string BenchClientId(Server server, const std::string& user, const std::string& device) {
  return server == Server::kChat ? user + ":" + device : "bench-" + user + "-" + device;
}

BrokerCpu ReadBrokerCpu(const harness::BrokerProcess& broker) {
  harness::ProcessUsage usage = broker.Usage();
  return {usage.cpu_seconds, usage.main_thread_cpu_seconds};
}

}  // namespace chat::bench
