// RawMqttClient: a minimal MQTT 3.1.1 client on a blocking TCP socket. The plugin's session reaper uses
// it to reach its own broker (no broker calls, no library with threads of its own); tests use it for what
// Paho cannot do: connect from a chosen loopback source address (127.0.0.2, ...), see exactly how the
// broker answered a CONNECT (CONNACK code and session-present flag, or the connection closed without
// one), time PINGREQ round trips (answered on the broker's event-loop thread, so they show its stalls),
// and fire requests without waiting for anything. Not thread-safe; one connection at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace chat::clients {

struct ConnectOutcome {
  enum class Kind {
    kAccepted,      // CONNACK 0
    kRefused,       // CONNACK with a non-zero code (`code`)
    kClosed,        // the broker closed the connection without a CONNACK ("try again")
    kTimeout,       // nothing within the timeout
    kNetworkError,  // could not connect at all
  };
  Kind kind = Kind::kNetworkError;
  int code = 0;
  bool session_present = false;
  std::chrono::microseconds elapsed{0};
};

const char* ConnectOutcomeName(ConnectOutcome::Kind kind);

class RawMqttClient {
 public:
  RawMqttClient() = default;
  ~RawMqttClient() { Close(); }
  RawMqttClient(const RawMqttClient&) = delete;
  RawMqttClient& operator=(const RawMqttClient&) = delete;

  // Opens TCP to `host`:`port` (an IPv4 address) from `source_address` ("": any) and sends CONNECT;
  // waits up to `timeout` for the answer.
  ConnectOutcome Connect(const std::string& host, int port, const std::string& client_id, const std::string& user,
                         const std::string& password, bool clean, int keepalive_seconds,
                         const std::string& source_address, std::chrono::milliseconds timeout);
  // The same to 127.0.0.1:`port`.
  ConnectOutcome Connect(int port, const std::string& client_id, const std::string& user,
                         const std::string& password, bool clean = true, int keepalive_seconds = 60,
                         const std::string& source_address = "127.0.0.1",
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return Connect("127.0.0.1", port, client_id, user, password, clean, keepalive_seconds, source_address, timeout);
  }
  // PINGREQ and wait for PINGRESP (other packets are skipped); the round trip, or nullopt on timeout.
  std::optional<std::chrono::microseconds> Ping(std::chrono::milliseconds timeout);
  // SUBSCRIBE one filter at QoS 1 and wait for SUBACK; the granted QoS or 0x80, or -1 on error.
  int Subscribe(const std::string& filter, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // PUBLISH at QoS 0, without waiting for anything. False when the write failed.
  bool PublishQos0(const std::string& topic, const std::string& payload);
  // DISCONNECT and close.
  void Disconnect();
  void Close();
  bool open() const { return fd_ >= 0; }

 private:
  bool WriteAll(const std::string& bytes);
  // Reads one whole packet (fixed header byte, body) within `timeout`.
  bool ReadPacket(std::chrono::milliseconds timeout, std::uint8_t* type, std::string* body);
  bool ReadExactly(std::size_t count, std::chrono::steady_clock::time_point deadline, std::string* out);

  int fd_ = -1;
  std::uint16_t next_packet_id_ = 1;
};

}  // namespace chat::clients
