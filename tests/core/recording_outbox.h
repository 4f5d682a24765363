// RecordingOutbox: an Outbox that keeps every publish (parsed as JSON) for a test to inspect.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/outbox.h"

namespace chat::core {

struct Published {
  std::string client_id;  // empty: to the topic's subscribers
  std::string topic;
  nlohmann::json payload;
  bool ephemeral = false;
  bool retained = false;
  bool to_device = false;  // an event for one device (QoS 1), not a reply
};

class RecordingOutbox final : public Outbox {
 public:
  void ToTopic(std::string topic, std::string payload) override {
    published.push_back({"", std::move(topic), nlohmann::json::parse(payload)});
  }
  void ToDevice(std::string client_id, std::string topic, std::string payload) override {
    published.push_back({std::move(client_id), std::move(topic), nlohmann::json::parse(payload)});
    published.back().to_device = true;
  }
  void ToClient(std::string client_id, std::string topic, std::string payload) override {
    published.push_back({std::move(client_id), std::move(topic), nlohmann::json::parse(payload)});
  }
  void Ephemeral(std::string topic, std::string payload) override {
    published.push_back({"", std::move(topic), nlohmann::json::parse(payload), true, false});
  }
  void Retained(std::string topic, std::string payload) override {
    // An empty retained payload (clearing the topic) is recorded as null.
    published.push_back({"", std::move(topic), payload.empty() ? nlohmann::json() : nlohmann::json::parse(payload),
                         false, true});
  }
  std::vector<Published> published;
};

}  // namespace chat::core
