// Presence inside FakeBroker: retained presence at login, bye, a lost connection and the TICK that ends it.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- Presence ---------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, LoginPublishesRetainedPresenceOncePerUser) {
  Start();
  mosquitto* phone = broker_->AddClient("alice:phone");
  ASSERT_EQ(broker_->BasicAuth(phone, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "chat/v1/presence/alice");
  EXPECT_TRUE(published[0].retain);
  EXPECT_EQ(published[0].client_id, std::nullopt);
  EXPECT_EQ(Json(published[0].payload)["state"], "online");
  mosquitto* laptop = broker_->AddClient("alice:laptop");
  ASSERT_EQ(broker_->BasicAuth(laptop, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
  EXPECT_TRUE(broker_->TakePublished().empty());  // already online
}

TEST_F(PluginInProcessTest, ByeThenDisconnectIsAnImmediateOfflineALostConnectionWaitsForTheTimeout) {
  WriteFile(config_path_, "data_dir: " + data_dir_ + "\nauth:\n  pbkdf2_iterations: 1000\npresence:\n  timeout_seconds: 1\n");
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/bye", "{}").rc, MOSQ_ERR_SUCCESS);
  broker_->TakePublished();  // the ok reply
  broker_->Disconnect(alice);
  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(Json(published[0].payload)["state"], "offline");

  mosquitto* bob = Login("bob", "bob-pw");
  broker_->Disconnect(bob);  // no bye: a lost connection
  broker_->Tick();
  EXPECT_TRUE(broker_->TakePublished().empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  broker_->Tick();
  published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "chat/v1/presence/bob");
  EXPECT_EQ(Json(published[0].payload)["state"], "offline");
}

TEST_F(PluginInProcessTest, PresenceTopicsAreForContactsOnly) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  mosquitto* bob = Login("bob", "bob-pw");
  EXPECT_EQ(broker_->AclCheck(bob, MOSQ_ACL_SUBSCRIBE, "chat/v1/presence/alice"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->AclCheck(bob, MOSQ_ACL_SUBSCRIBE, "chat/v1/presence/+"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/presence/alice"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->Message(bob, "chat/v1/req/contact_request", R"({"user":"alice"})").rc, MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/contact_accept", R"({"user":"bob"})").rc, MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(bob, MOSQ_ACL_SUBSCRIBE, "chat/v1/presence/alice"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(bob, MOSQ_ACL_READ, "chat/v1/presence/alice"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/contact_remove", R"({"user":"bob"})").rc, MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(bob, MOSQ_ACL_READ, "chat/v1/presence/alice"), MOSQ_ERR_ACL_DENIED);
}

}  // namespace
}  // namespace chat::harness
