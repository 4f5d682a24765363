// BrokerOutbox: core::Outbox on mosquitto_broker_publish. Messages go out at the start of the
// broker's next loop pass, i.e. after the PUBACK of the publish being handled.
#pragma once

#include "core/outbox.h"
#include "plugins/broker_waker.h"

namespace chat::plugin {

class BrokerOutbox final : public core::Outbox {
 public:
  // `waker` keeps the loop turning while a large payload trickles out to a WebSocket client.
  explicit BrokerOutbox(BrokerWaker& waker) : waker_(waker) {}

  void ToTopic(std::string topic, std::string payload) override;
  void ToDevice(std::string client_id, std::string topic, std::string payload) override;
  void ToClient(std::string client_id, std::string topic, std::string payload) override;
  void Ephemeral(std::string topic, std::string payload) override;
  void Retained(std::string topic, std::string payload) override;

 private:
  void Publish(const char* client_id, const std::string& topic, const std::string& payload, int qos,
               bool retain = false);
  BrokerWaker& waker_;
};

}  // namespace chat::plugin
