// The two servers the suite compares, started the same way for every scenario: bare Mosquitto (plain
// topics, logins checked against a password_file, QoS 1) and Mosquitto with the chat plugin (accounts
// created offline before it starts, per-user rate limits raised so that they are not what is measured).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clients/bench/suite.h"
#include "harness/broker_process.h"

namespace chat::bench {

inline constexpr char kBenchPassword[] = "bench-password";

struct ServerSetup {
  // Accounts (bare: password_file entries), all with kBenchPassword.
  std::vector<std::string> users;
  // Chat only: pairs made contacts (so one may put the other into a group at once).
  std::vector<std::pair<std::string, std::string>> contacts;
  // Chat only: YAML appended to the chat config (durability, limits).
  std::string chat_yaml;
  // Both: lines appended to mosquitto.conf.
  std::string mosquitto_conf;
  // Both: connections per listener (0: the config's own, 10,000).
  int max_connections = 0;
};

// A started server, or the reason it could not start (then `broker` is null).
struct StartedServer {
  std::unique_ptr<harness::BrokerProcess> broker;
  std::string error;
};
StartedServer StartServer(Server server, const ServerSetup& setup);

// The client id a load client of `user` uses on `server` (the chat server wants "<user>:<device>").
std::string BenchClientId(Server server, const std::string& user, const std::string& device = "bench");

// The broker's whole CPU time (all threads) and its event-loop thread's, in seconds, now.
struct BrokerCpu {
  double process_s = 0;
  double loop_s = 0;
};
BrokerCpu ReadBrokerCpu(const harness::BrokerProcess& broker);

// Fills what every measurement reports from a finished phase: "completed" is set by the scenario.
// `error` gets the broker's log tail when the phase did not complete.
void NoteBrokerLog(const harness::BrokerProcess& broker, Measurement* measurement);

}  // namespace chat::bench
