// The two servers the suite compares, started the same way for every scenario: bare Mosquitto (plain
// topics, logins checked against a password_file, QoS 1) and Mosquitto with the chat plugin (accounts
// created offline before it starts, per-user rate limits raised so that they are not what is measured).
#pragma once

#include <functional>
#include <map>
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
  // Chat only: YAML appended to the chat config (durability: ...); not a `limits:` or `auth:` section
  // (see below: a section given twice is an error).
  std::string chat_yaml;
  // Chat only: settings of the `auth:` section over the harness's (which hashes cheaply, for speed).
  std::map<std::string, std::string> chat_auth;
  // Chat only: lines of the `limits:` section ("  max_group_members: 500\n"), beside the raised rates.
  std::string chat_limits;
  // Both: lines appended to mosquitto.conf.
  std::string mosquitto_conf;
  // Both: connections per listener (0: the config's own, 10,000).
  int max_connections = 0;
  // Chat only: run on the stopped broker once its accounts exist, before it starts (store the devices'
  // resume tokens, ...); "" or the error.
  std::function<std::string(harness::BrokerProcess& broker)> prepare_offline;
};

// The broker options of `server` with `setup` (chat: the raised rates, the setup's YAML).
harness::BrokerOptions BrokerOptionsFor(Server server, const ServerSetup& setup);
// Chat, on the stopped broker: the setup's accounts, offline preparation and contacts. "" or the error.
std::string PrepareChatStore(harness::BrokerProcess& broker, const ServerSetup& setup);

// Starts `server` with `setup`, runs `measure` on it and stops it. A server that cannot start is a
// measurement that did not complete, saying why; one that did not complete gets the broker's log tail.
Measurement MeasureOnServer(Server server, const ServerSetup& setup,
                            const std::function<Measurement(const harness::BrokerProcess& broker)>& measure);

// The client id a load client of `user` uses on `server` (the chat server wants "<user>:<device>").
std::string BenchClientId(Server server, const std::string& user, const std::string& device = "bench");

// The broker's whole CPU time (all threads) and its event-loop thread's, in seconds, now.
struct BrokerCpu {
  double process_s = 0;
  double loop_s = 0;
};
BrokerCpu ReadBrokerCpu(const harness::BrokerProcess& broker);


}  // namespace chat::bench
