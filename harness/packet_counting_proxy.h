// PacketCountingProxy: a TCP relay between MQTT clients and a broker on loopback that counts the MQTT
// packets crossing it, by type and direction, per client connection. It shows what a protocol exchange
// puts on the wire whatever client library made it (Paho's own counters see only its side).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chat::harness {

// MQTT control packet types (the high nibble of the fixed header).
enum class PacketType : std::uint8_t {
  kConnect = 1, kConnack, kPublish, kPuback, kPubrec, kPubrel, kPubcomp,
  kSubscribe, kSuback, kUnsubscribe, kUnsuback, kPingreq, kPingresp, kDisconnect, kAuth,
};

struct PacketCounts {
  std::array<long, 16> to_broker{};    // by packet type
  std::array<long, 16> from_broker{};

  long to(PacketType type) const { return to_broker[static_cast<int>(type)]; }
  long from(PacketType type) const { return from_broker[static_cast<int>(type)]; }
  // Every packet both ways, PINGREQ/PINGRESP (keepalive, not the exchange) left out.
  long total_without_pings() const;
  PacketCounts& operator+=(const PacketCounts& other);
};

class PacketCountingProxy {
 public:
  // Listens on a free 127.0.0.1 port; each accepted connection is relayed to 127.0.0.1:`broker_port`.
  explicit PacketCountingProxy(int broker_port);
  ~PacketCountingProxy();  // closes every relayed connection
  PacketCountingProxy(const PacketCountingProxy&) = delete;
  PacketCountingProxy& operator=(const PacketCountingProxy&) = delete;

  int port() const { return port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

  // Connections accepted so far, in accept order.
  std::size_t connections() const;
  // What crossed connection `index` (accept order), or all of them, since the last Reset().
  PacketCounts Counts(std::size_t index) const;
  PacketCounts Total() const;
  void Reset();

 private:
  struct Relay;
  void AcceptLoop();

  int listen_fd_ = -1;
  int port_ = 0;
  int broker_port_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Relay>> relays_;
  std::thread acceptor_;
};

}  // namespace chat::harness
