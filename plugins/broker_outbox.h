// BrokerOutbox: core::Outbox on mosquitto_broker_publish. Messages go out at the start of the
// broker's next loop pass, i.e. after the PUBACK of the publish being handled.
#pragma once

#include "core/outbox.h"

namespace chat::plugin {

class BrokerOutbox final : public core::Outbox {
 public:
  void ToTopic(std::string topic, std::string payload) override;
  void ToDevice(std::string client_id, std::string topic, std::string payload) override;
  void ToClient(std::string client_id, std::string topic, std::string payload) override;
  void Ephemeral(std::string topic, std::string payload) override;
  void Retained(std::string topic, std::string payload) override;
};

}  // namespace chat::plugin
