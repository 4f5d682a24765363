// Where a Paho client finds the chat server and how it secures the connection: one place for the
// address form (tcp, ssl, ws, wss) and for TLS with the server's certificate verified, shared by chatctl,
// chat-cli and the push bridge.
#pragma once

#include <mqtt/connect_options.h>

#include <string>

namespace chat::clients {

struct BrokerAddress {
  std::string host = "127.0.0.1";
  int port = 1883;
  bool websocket = false;  // MQTT over WebSocket instead of TCP
  bool tls = false;
  // The CA the server's certificate must chain to; empty: the system's CAs. Verification is always on.
  std::string ca_file;
  // The client's own certificate and key, for servers that require one (tls.client_ca_file).
  std::string cert_file;
  std::string key_file;
};

// The Paho URI: tcp://, ssl://, ws:// or wss://, with an IPv6 host in brackets.
std::string BrokerUri(const BrokerAddress& address);

// TLS options for `address` (verifying the server's certificate and name), to pass to
// connect_options_builder::ssl; call only when address.tls.
mqtt::ssl_options TlsOptions(const BrokerAddress& address);

}  // namespace chat::clients
