// BrokerFixture: the base of the integration tests that need a broker with some accounts and a few
// protocol steps (devices, requests matched by rid, admin commands, contacts).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/broker_process.h"
#include "tests/harness/test_client.h"

namespace chat::harness {

class BrokerFixture : public ::testing::Test {
 protected:
  // Starts a broker whose accounts `users` (and admin accounts `admins`) have the password "pw-<user>".
  void StartBroker(const std::vector<std::string>& users, const std::string& extra_yaml = "",
                   std::map<std::string, std::string> auth = {}, const std::vector<std::string>& admins = {}) {
    broker_ = std::make_unique<BrokerProcess>(BrokerOptions{.extra_yaml = extra_yaml, .auth = std::move(auth)});
    for (const std::string& user : users) ASSERT_EQ(broker_->AddUserOffline(user, "pw-" + user), "");
    for (const std::string& user : admins) ASSERT_EQ(broker_->AddUserOffline(user, "pw-" + user, true), "");
    ASSERT_EQ(broker_->Start(), "");
  }

  // A connected device of `user` (password "pw-<user>" unless given), subscribed to its own topics.
  std::unique_ptr<ChatTestClient> Device(const std::string& user, const std::string& device,
                                         const std::string& password = "", bool subscribe = true) {
    auto client = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), user, device);
    EXPECT_EQ(client->Connect(password.empty() ? "pw-" + user : password), "") << user;
    if (subscribe) {
      EXPECT_TRUE(client->SubscribeOwn());
    }
    return client;
  }

  // Publishes chat/v1/req/<op> with a fresh rid and waits for the reply carrying it.
  std::optional<nlohmann::json> Request(ChatTestClient& client, const std::string& op, nlohmann::json body) {
    std::string rid = op + std::to_string(++rid_);
    body["rid"] = rid;
    client.Publish("chat/v1/req/" + op, body.dump());
    auto reply = client.WaitFor([&](const Received& r) { return r.json.is_object() && r.json.value("rid", "") == rid; });
    if (!reply) return std::nullopt;
    return reply->json;
  }

  // Runs one $CONTROL/chat-accounts/v1 command as the admin account "root" ("pw-root"); its response.
  nlohmann::json Admin(const nlohmann::json& command) {
    auto admin = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "root", "console");
    EXPECT_EQ(admin->Connect("pw-root"), "");
    EXPECT_TRUE(admin->Subscribe("$CONTROL/chat-accounts/v1/response"));
    admin->Publish("$CONTROL/chat-accounts/v1", nlohmann::json{{"commands", {command}}}.dump());
    auto response = admin->WaitFor([](const Received& r) { return r.topic == "$CONTROL/chat-accounts/v1/response"; });
    EXPECT_TRUE(response);
    return response ? response->json["responses"][0] : nlohmann::json();
  }

  // Makes `a` and `b` contacts through the protocol: a asks, b accepts.
  void MakeContacts(ChatTestClient& a, ChatTestClient& b) {
    ASSERT_EQ((*Request(a, "contact_request", {{"user", b.user()}}))["type"], "ok");
    ASSERT_EQ((*Request(b, "contact_accept", {{"user", a.user()}}))["type"], "ok");
  }

  std::unique_ptr<BrokerProcess> broker_;

 private:
  int rid_ = 0;
};

}  // namespace chat::harness
