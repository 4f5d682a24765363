// NatsCluster: Debian's nats-server, three of them on loopback with JetStream and routes between them,
// as a cluster node's replicated log runs on (docs/SCALING.md). Each server has a folder of its own (its
// config, its JetStream store, its log); a server killed and started again keeps its folder and ports.
// StreamReader reads the log back as a test checks it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/server_process.h"

typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;

namespace chat::harness {

class NatsServerProcess : public ServerProcess {
 public:
  NatsServerProcess(std::string name, int client_port, int route_port, std::vector<int> all_route_ports);
  // Starts nats-server and waits until it accepts clients. "" or the error with its log.
  std::string Start();
  int client_port() const { return client_port_; }

 private:
  std::string name_;
  int client_port_;
};

class NatsCluster {
 public:
  explicit NatsCluster(int servers = 3);
  // Starts every server not running. "" or the first error.
  std::string Start();
  NatsServerProcess& server(int i) { return *servers_.at(static_cast<std::size_t>(i)); }
  int size() const { return static_cast<int>(servers_.size()); }
  std::vector<std::string> urls() const;
  // The chat config's cluster section for this cluster (YAML, for BrokerOptions::extra_yaml).
  std::string ClusterYaml(int replicas = 3) const;

 private:
  std::vector<std::unique_ptr<NatsServerProcess>> servers_;
};

// One message of the stream: its sequence, its Nats-Msg-Id and its data (a change record).
struct LoggedChange {
  std::uint64_t sequence = 0;
  std::string msg_id;
  std::string data;
};

class StreamReader {
 public:
  // Connects to `urls` (any server of the cluster answers). "" or the error through error().
  explicit StreamReader(const std::vector<std::string>& urls);
  ~StreamReader();
  const std::string& error() const { return error_; }
  // Every message of `stream`, in order; the error in error() (and what was read so far) otherwise.
  std::vector<LoggedChange> ReadAll(const std::string& stream);

 private:
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  std::string error_;
};

}  // namespace chat::harness
