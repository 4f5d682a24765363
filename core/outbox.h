// Outbox: where the core puts the MQTT messages it wants published. The plugin adapter implements it
// with mosquitto_broker_publish; tests record what was put.
#pragma once

#include <string>

namespace chat::core {

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Publish an event to `topic` for every subscriber allowed to receive it (QoS 1).
  virtual void ToTopic(std::string topic, std::string payload) = 0;
  // Publish an event to `topic` for the one device `client_id` only (QoS 1, queued while the device is
  // offline with a session the broker keeps): the broker matches no subscription and checks no ACL.
  virtual void ToDevice(std::string client_id, std::string topic, std::string payload) = 0;
  // Publish a passing signal (typing) at QoS 0: never queued for an absent device, never stored.
  virtual void Ephemeral(std::string topic, std::string payload) = 0;
  // Publish and retain `payload` as the current state of `topic` (presence), QoS 1; an empty payload
  // clears the retained message.
  virtual void Retained(std::string topic, std::string payload) = 0;
  // Publish a reply to `topic` for the one client `client_id` only, whatever it subscribed (QoS 0: a
  // lost reply is recovered by repeating the request; a large page at QoS 1, within the broker's
  // per-client queue limits).
  virtual void ToClient(std::string client_id, std::string topic, std::string payload) = 0;
};

// For offline tools (chatctl on a stopped broker): nobody is connected, so nothing is published; what
// matters is in the store.
class DiscardingOutbox final : public Outbox {
 public:
  void ToTopic(std::string, std::string) override {}
  void ToDevice(std::string, std::string, std::string) override {}
  void Ephemeral(std::string, std::string) override {}
  void Retained(std::string, std::string) override {}
  void ToClient(std::string, std::string, std::string) override {}
};

}  // namespace chat::core
