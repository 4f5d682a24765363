// The 1:1 load (clients/bench/one_to_one.cc), for the scenarios that run it on servers of their own (a
// cluster's nodes: cluster_nodes.cc).
#pragma once

#include <string>
#include <vector>

#include "clients/bench/servers.h"
#include "clients/bench/suite.h"
#include "harness/broker_process.h"

namespace chat::bench {

struct OneToOneLoad {
  int pairs = 8;
  int messages = 4000;  // per sender
  int window = 32;      // closed loop: sends in flight per pair
  int text_bytes = 100;
  // The chat server's sends: QoS 1 as docs/PROTOCOL.md asks by default, or 0 (the chat ack is then the
  // only acknowledgement: four packets per message, as bare Mosquitto's QoS 1). Bare always QoS 1.
  int chat_send_qos = 1;
  double rate = 0;  // open loop: sends per second over all pairs; 0: closed loop
  bool power_loss = false;  // chat: durability power_loss (fsync per group commit)
  // Chat: the first character of every cmid ("b<pair>-<n>"). Runs on one server need different ones,
  // or the server takes the later run's sends for retries of the earlier one's.
  char cmid_prefix = 'b';
};

// The accounts a load needs: "s<i>" sends to "r<i>".
ServerSetup OneToOneSetup(const OneToOneLoad& load);
// Runs `load` on a started broker of `server`'s kind.
Measurement RunOneToOneOn(const harness::BrokerProcess& broker, const OneToOneLoad& load, Server server,
                          const SuiteContext& context, const std::string& label);
// Starts `server` with OneToOneSetup(load), runs it and stops it.
Measurement RunOneToOne(const OneToOneLoad& load, Server server, const SuiteContext& context, const std::string& label);

}  // namespace chat::bench
