#include "harness/nats_cluster.h"

#include <nats/nats.h>

#include <unistd.h>

#include <fstream>

namespace chat::harness {

NatsServerProcess::NatsServerProcess(std::string name, int client_port, int route_port,
                                     std::vector<int> all_route_ports)
    : ServerProcess("nats-" + name), name_(std::move(name)), client_port_(client_port) {
  std::ofstream conf(dir() + "/nats.conf");
  conf << "server_name: " << name_ << "\n"
       << "listen: 127.0.0.1:" << client_port_ << "\n"
       // A chat change record carries a message text of up to 100,000 characters, and a group's queue
       // entries: more than NATS's default 1 MB must pass.
       << "max_payload: 8MB\n"
       << "jetstream {\n  store_dir: \"" << dir() << "/jetstream\"\n  max_memory_store: 64MB\n"
       << "  max_file_store: 4GB\n}\n"
       << "cluster {\n  name: chatlog\n  listen: 127.0.0.1:" << route_port << "\n  routes: [\n";
  for (int port : all_route_ports) {
    if (port != route_port) conf << "    nats-route://127.0.0.1:" << port << "\n";
  }
  conf << "  ]\n}\n";
}

std::string NatsServerProcess::Start() {
  return SpawnAndWait({"/usr/sbin/nats-server", "-c", dir() + "/nats.conf"}, {}, "nats.log", "nats-server " + name_,
                      "accepted no client", [this] {
                        int fd = ConnectToLoopback(client_port_);
                        if (fd < 0) return false;
                        ::close(fd);
                        return true;
                      });
}

NatsCluster::NatsCluster(int servers) {
  std::vector<int> client_ports;
  std::vector<int> route_ports;
  // Distinct ports: FreeLoopbackPort may answer the same one twice while nothing binds it yet.
  auto fresh = [&] {
    while (true) {
      int port = FreeLoopbackPort();
      bool taken = false;
      for (int p : client_ports) taken |= p == port;
      for (int p : route_ports) taken |= p == port;
      if (!taken) return port;
    }
  };
  for (int i = 0; i < servers; ++i) {
    client_ports.push_back(fresh());
    route_ports.push_back(fresh());
  }
  for (int i = 0; i < servers; ++i) {
    servers_.push_back(std::make_unique<NatsServerProcess>("n" + std::to_string(i + 1), client_ports[i],
                                                           route_ports[i], route_ports));
  }
}

std::string NatsCluster::Start() {
  for (auto& server : servers_) {
    if (server->running()) continue;
    if (std::string error = server->Start(); !error.empty()) return error;
  }
  return "";
}

std::vector<std::string> NatsCluster::urls() const {
  std::vector<std::string> urls;
  for (const auto& server : servers_) urls.push_back("nats://127.0.0.1:" + std::to_string(server->client_port()));
  return urls;
}

std::string NatsCluster::ClusterYaml(int replicas) const {
  std::string yaml = "cluster:\n  replicas: " + std::to_string(replicas) + "\n  nats_servers:\n";
  for (const std::string& url : urls()) yaml += "    - " + url + "\n";
  return yaml;
}

StreamReader::StreamReader(const std::vector<std::string>& urls) {
  natsOptions* options = nullptr;
  natsOptions_Create(&options);
  std::vector<const char*> servers;
  for (const std::string& url : urls) servers.push_back(url.c_str());
  natsOptions_SetServers(options, servers.data(), static_cast<int>(servers.size()));
  natsStatus s = natsConnection_Connect(&connection_, options);
  natsOptions_Destroy(options);
  if (s != NATS_OK) {
    error_ = std::string("connecting to NATS: ") + natsStatus_GetText(s);
    return;
  }
  if (s = natsConnection_JetStream(&js_, connection_, nullptr); s != NATS_OK) {
    error_ = std::string("JetStream context: ") + natsStatus_GetText(s);
  }
}

StreamReader::~StreamReader() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (connection_ != nullptr) natsConnection_Destroy(connection_);
}

std::vector<LoggedChange> StreamReader::ReadAll(const std::string& stream) {
  std::vector<LoggedChange> changes;
  if (js_ == nullptr) return changes;
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (natsStatus s = js_GetStreamInfo(&info, js_, stream.c_str(), nullptr, &code); s != NATS_OK) {
    error_ = "stream info: " + std::string(natsStatus_GetText(s)) + " " + std::to_string(static_cast<int>(code));
    return changes;
  }
  std::uint64_t first = info->State.FirstSeq;
  std::uint64_t last = info->State.LastSeq;
  jsStreamInfo_Destroy(info);
  for (std::uint64_t seq = first; seq != 0 && seq <= last; ++seq) {
    natsMsg* msg = nullptr;
    natsStatus s = js_GetMsg(&msg, js_, stream.c_str(), seq, nullptr, &code);
    if (s == NATS_NOT_FOUND) continue;  // none removed in these tests, but a gap is not an error
    if (s != NATS_OK) {
      error_ = "message " + std::to_string(seq) + ": " + natsStatus_GetText(s);
      return changes;
    }
    LoggedChange change;
    change.sequence = seq;
    const char* id = nullptr;
    if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK) change.msg_id = id;
    change.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    changes.push_back(std::move(change));
    natsMsg_Destroy(msg);
  }
  return changes;
}

}  // namespace chat::harness
