// ChatTestClient: a Paho MQTT C++ client logged in as one device of one user, with helpers to wait for
// the chat protocol's JSON messages. Every wait is bounded.
#pragma once

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace chat::harness {

struct Received {
  std::string topic;
  std::string payload;
  nlohmann::json json;  // discarded value when the payload is not JSON
};

class ChatTestClient {
 public:
  // `device` "" uses an empty client id (broker-assigned). mqtt_version: 4 (3.1.1) or 5.
  ChatTestClient(const std::string& uri, std::string user, std::string device, int mqtt_version = 5);
  ~ChatTestClient();

  // Connects; returns "" or the error (e.g. "not authorized"). `clean` false keeps a persistent session
  // (MQTT 5: with a session expiry of an hour). `session_expiry` (MQTT 5) sets the expiry interval
  // explicitly, e.g. clean start with a session that outlives the connection.
  std::string Connect(const std::string& password, bool clean = true, std::optional<int> session_expiry = std::nullopt);
  // Connects with an explicit client id instead of "<user>:<device>".
  std::string ConnectAs(const std::string& client_id, const std::string& password);
  // Subscribes; true when the broker granted it.
  bool Subscribe(const std::string& filter, int qos = 1);
  // Subscribes to chat/v1/user/<user>/# (what every real client does).
  bool SubscribeOwn();
  // Publishes and waits for the acknowledgement; returns the MQTT 5 reason code (0 = success, 0x10 = no
  // subscribers, 0x87 = not authorized) or -1 on a transport error.
  int Publish(const std::string& topic, const std::string& payload, int qos = 1);
  // Publishes at QoS 0 without waiting (to pipeline requests); false when Paho refused it at once.
  bool PublishNoWait(const std::string& topic, const std::string& payload);
  // Publishes to chat/v1/req/send; returns the reason code.
  int Send(const std::string& to, const std::string& text, const std::string& cmid);

  // The next message matching `match` within `timeout`; others received meanwhile stay queued.
  std::optional<Received> WaitFor(const std::function<bool(const Received&)>& match,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next JSON reply of `type` ("ack", "error", "history", "message") within `timeout`.
  std::optional<nlohmann::json> WaitForType(const std::string& type,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Everything that arrives within `window`, plus what was queued.
  std::vector<Received> Collect(std::chrono::milliseconds window);

  // TLS for the next Connect (an ssl:// uri): the server's certificate is verified against `ca_file`,
  // and its name against the host; `cert_file` and `key_file` are the client's own, if any.
  void set_tls(std::string ca_file, std::string cert_file = "", std::string key_file = "") {
    tls_ = Tls{std::move(ca_file), std::move(cert_file), std::move(key_file)};
  }
  // Keepalive asked for on the next Connect (default 30 s; 0 asks for none).
  void set_keepalive(int seconds) { keepalive_seconds_ = seconds; }
  // Publishes chat/v1/req/heartbeat every `interval` from a thread of its own until Disconnect or
  // StopHeartbeats, as a real client does while connected (PROTOCOL.md, Presence).
  void StartHeartbeats(std::chrono::milliseconds interval);
  void StopHeartbeats();
  // Stops the heartbeats, then disconnects.
  void Disconnect();
  bool connected() const { return client_->is_connected(); }
  const std::string& user() const { return user_; }
  std::string client_id() const { return client_->get_client_id(); }

 private:
  bool Pull(std::chrono::milliseconds timeout);

  std::string user_;
  int mqtt_version_;
  int keepalive_seconds_ = 30;
  struct Tls {
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
  };
  std::optional<Tls> tls_;
  std::unique_ptr<mqtt::async_client> client_;
  std::deque<Received> queued_;
  std::thread heartbeats_;
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_stop_;
  bool stop_heartbeats_ = false;  // guarded by heartbeat_mutex_
};

}  // namespace chat::harness
