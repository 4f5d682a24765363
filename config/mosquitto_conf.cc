#include "config/mosquitto_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fstream>
#include <string>

namespace chat::config {
namespace {

using core::ErrorCode;
using core::Status;

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (std::size_t at = text->find(from); at != std::string::npos; at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// One TLS listener: the same limits as the plain ones, TLS 1.2 at least, and client certificates when
// a CA for them is set (checked besides the password, never instead of it).
std::string TlsListener(const TlsSettings& tls, std::uint32_t port, const char* protocol) {
  std::string block = "listener " + std::to_string(port) + " " + tls.address + "\n";
  block += std::string("protocol ") + protocol + "\nmax_qos 1\nmax_connections 10000\n";
  block += "certfile " + tls.cert_file + "\nkeyfile " + tls.key_file + "\n";
  block += "tls_version tlsv1.2\n";
  if (!tls.client_ca_file.empty()) {
    block += "cafile " + tls.client_ca_file + "\nrequire_certificate true\nuse_identity_as_username false\n";
  }
  return block;
}

std::string WebSocketListener(const ListenerSettings& plain) {
  if (plain.websockets_port == 0) return "# No plain WebSocket listener (listeners.websockets_port: 0).\n";
  return "# MQTT over WebSocket (web clients). Mosquitto 2.0.11 binds this listener on every interface whatever\n"
         "# address is named (upstream issue #3045), and reads a frame of any announced size before checking\n"
         "# max_packet_size: firewall it, or front it with a proxy that limits frames, where it faces a network.\n"
         "listener " + std::to_string(plain.websockets_port) + " " + plain.address +
         "\nprotocol websockets\nmax_qos 1\nmax_connections 10000\n";
}

std::string TlsListeners(const TlsSettings& tls) {
  if (!tls.enabled()) return "# No TLS listeners: tls.cert_file and tls.key_file are not set in chat.yaml.\n";
  return "# MQTT over TLS and WebSocket over TLS (tls in chat.yaml).\n" + TlsListener(tls, tls.mqtt_port, "mqtt") +
         "\n" + TlsListener(tls, tls.websockets_port, "websockets");
}

Status Readable(const std::string& key, const std::string& path) {
  if (path.empty() || std::ifstream(path).good()) return Status::Ok();
  return Status::Error(ErrorCode::kInvalidArgument, key + ": cannot read " + path);
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return address == "localhost";
}

core::Result<std::string> MosquittoConf(const std::string& template_text, const ServerConfig& config,
                                        const BrokerFiles& files) {
  const ListenerSettings& plain = config.listeners;
  if (!IsLoopbackAddress(plain.address) && !plain.plain_on_network) {
    return Status::Error(ErrorCode::kInvalidArgument,
                         "listeners.address: " + plain.address +
                             " is not loopback; plain MQTT there carries passwords in the clear (use the tls "
                             "listeners, or set listeners.plain_on_network: true behind a TLS proxy)");
  }
  for (const auto& [key, path] : {std::pair<std::string, std::string>{"tls.cert_file", config.tls.cert_file},
                                  {"tls.key_file", config.tls.key_file},
                                  {"tls.client_ca_file", config.tls.client_ca_file}}) {
    if (Status readable = Readable(key, path); !readable.ok()) return readable;
  }
  // The plugin reaches the MQTT listener itself: on loopback when it listens on every address.
  bool every_address = plain.address == "0.0.0.0" || plain.address == "::";
  std::string conf = template_text;
  ReplaceAll(&conf, "@USER@", files.user);
  ReplaceAll(&conf, "@BIND_ADDRESS@", plain.address);
  ReplaceAll(&conf, "@LOCAL_ADDRESS@", every_address ? "127.0.0.1" : plain.address);
  ReplaceAll(&conf, "@MQTT_PORT@", std::to_string(plain.mqtt_port));
  ReplaceAll(&conf, "@WS_LISTENER@", WebSocketListener(plain));
  ReplaceAll(&conf, "@PLUGIN@", files.plugin_path);
  ReplaceAll(&conf, "@CONFIG_FILE@", files.config_file);
  ReplaceAll(&conf, "@TLS_LISTENERS@", TlsListeners(config.tls));
  return conf;
}

}  // namespace chat::config
