// CONTROL ($CONTROL/chat-accounts/v1) inside FakeBroker: admin commands and what they end.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- CONTROL ---------------------------------------------------------------------------------------

std::string AddUserCommand(const std::string& user, const std::string& password) {
  return json{{"commands", {{{"command", "addUser"}, {"username", user}, {"password", password}}}}}.dump();
}

TEST_F(PluginInProcessTest, ControlFromANonAdminIsRefused) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->Control(alice, kControlTopic, AddUserCommand("carol", "carol-pw")), MOSQ_ERR_ACL_DENIED);
  EXPECT_THAT(broker_->published(), IsEmpty());
  // The broker's own path stops it at the WRITE check already.
  EXPECT_EQ(broker_->ClientPublish(alice, kControlTopic, AddUserCommand("carol", "carol-pw")).rc,
            MOSQ_ERR_ACL_DENIED);
  mosquitto* carol = broker_->AddClient("carol:phone");
  EXPECT_EQ(broker_->BasicAuth(carol, "carol", "carol-pw"), MOSQ_ERR_AUTH);
}

TEST_F(PluginInProcessTest, ControlFromAnUnauthenticatedClientIsRefused) {
  Start();
  mosquitto* stranger = broker_->AddClient("root:console");
  EXPECT_EQ(broker_->Control(stranger, kControlTopic, AddUserCommand("carol", "carol-pw")), MOSQ_ERR_ACL_DENIED);
  EXPECT_THAT(broker_->published(), IsEmpty());
}

TEST_F(PluginInProcessTest, ControlFromAnAdminAddsAUserAndAnswersThatAdminOnly) {
  Start();
  mosquitto* root = Login("root", "root-pw", "console");
  Login("root", "root-pw", "other");  // another admin connection must not see the answer
  EXPECT_EQ(broker_->ClientPublish(root, kControlTopic, AddUserCommand("carol", "carol-pw")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].client_id, "root:console");
  EXPECT_EQ(published[0].topic, kControlResponseTopic);
  EXPECT_EQ(published[0].event, MOSQ_EVT_CONTROL);
  json response = Json(published[0].payload);
  ASSERT_EQ(response["responses"].size(), 1u);
  EXPECT_EQ(response["responses"][0]["command"], "addUser");
  EXPECT_FALSE(response["responses"][0].contains("error")) << response.dump();

  mosquitto* carol = broker_->AddClient("carol:phone");
  EXPECT_EQ(broker_->BasicAuth(carol, "carol", "carol-pw"), MOSQ_ERR_SUCCESS);
}

TEST_F(PluginInProcessTest, ControlCommandErrorsAreReportedInTheResponse) {
  Start();
  mosquitto* root = Login("root", "root-pw", "console");
  EXPECT_EQ(broker_->Control(root, kControlTopic, AddUserCommand("alice", "again")), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->Control(root, kControlTopic, "not json"), MOSQ_ERR_SUCCESS);
  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_TRUE(Json(published[0].payload)["responses"][0].contains("error"));
  EXPECT_TRUE(Json(published[1].payload)["responses"][0].contains("error"));
}

TEST_F(PluginInProcessTest, ControlPasswordChangeTakesEffectForNewLogins) {
  Start();
  Login("alice", "alice-pw");  // puts alice's login in the credential cache
  mosquitto* root = Login("root", "root-pw", "console");
  std::string command =
      json{{"commands", {{{"command", "setPassword"}, {"username", "alice"}, {"password", "new-pw"}}}}}.dump();
  EXPECT_EQ(broker_->Control(root, kControlTopic, command), MOSQ_ERR_SUCCESS);
  EXPECT_FALSE(Json(broker_->TakePublished().at(0).payload)["responses"][0].contains("error"));
  mosquitto* again = broker_->AddClient("alice:tablet");
  EXPECT_EQ(broker_->BasicAuth(again, "alice", "alice-pw"), MOSQ_ERR_AUTH);
  EXPECT_EQ(SettledBasicAuth(again, "alice", "new-pw"), MOSQ_ERR_SUCCESS);
}

TEST_F(PluginInProcessTest, DeletingAnAccountEndsItsLiveConnectionsAtOnce) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  mosquitto* root = Login("root", "root-pw", "console");
  std::string command = json{{"commands", {{{"command", "deleteUser"}, {"username", "alice"}}}}}.dump();
  EXPECT_EQ(broker_->Control(root, kControlTopic, command), MOSQ_ERR_SUCCESS);
  ASSERT_EQ(broker_->kicks().size(), 1u);
  EXPECT_TRUE(broker_->kicks()[0].by_username);
  EXPECT_EQ(broker_->kicks()[0].name, "alice");
  // Until the broker closes it, the connection can do nothing more.
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/send"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "hi", "k1")).rc, MOSQ_ERR_ACL_DENIED);
}

TEST_F(PluginInProcessTest, PasswordChangeEndsLiveConnections) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  mosquitto* root = Login("root", "root-pw", "console");
  std::string command =
      json{{"commands", {{{"command", "setPassword"}, {"username", "alice"}, {"password", "new-pw"}}}}}.dump();
  EXPECT_EQ(broker_->Control(root, kControlTopic, command), MOSQ_ERR_SUCCESS);
  ASSERT_EQ(broker_->kicks().size(), 1u);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/#"), MOSQ_ERR_ACL_DENIED);
}

}  // namespace
}  // namespace chat::harness
