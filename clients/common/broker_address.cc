#include "clients/common/broker_address.h"

namespace chat::clients {

std::string BrokerUri(const BrokerAddress& address) {
  std::string scheme = address.websocket ? (address.tls ? "wss" : "ws") : (address.tls ? "ssl" : "tcp");
  std::string host = address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  return scheme + "://" + host + ":" + std::to_string(address.port);
}

mqtt::ssl_options TlsOptions(const BrokerAddress& address) {
  auto tls = mqtt::ssl_options_builder().enable_server_cert_auth(true).verify(true);
  if (!address.ca_file.empty()) tls.trust_store(address.ca_file);
  if (!address.cert_file.empty()) tls.key_store(address.cert_file).private_key(address.key_file);
  return tls.finalize();
}

}  // namespace chat::clients
