// Outbox: where the core puts the MQTT messages it wants published. The plugin adapter implements it
// with mosquitto_broker_publish; tests record what was put.
#pragma once

#include <string>

namespace chat::core {

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Publish to `topic` for every subscriber allowed to receive it (QoS 1).
  virtual void ToTopic(std::string topic, std::string payload) = 0;
  // Publish to `topic` for the one client `client_id` only, whatever it subscribed (QoS 1).
  virtual void ToClient(std::string client_id, std::string topic, std::string payload) = 0;
};

}  // namespace chat::core
