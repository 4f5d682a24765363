// DISCONNECT inside FakeBroker: sessions forgotten, takeovers, refused logins.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- DISCONNECT ------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, DisconnectForgetsTheSession) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  ASSERT_EQ(broker_->AclCheck(alice, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/#"), MOSQ_ERR_SUCCESS);
  broker_->Disconnect(alice);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/#"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/send"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "hi", "d1")).rc, MOSQ_ERR_ACL_DENIED);
}

TEST_F(PluginInProcessTest, TakeoverKeepsTheNewConnectionsSession) {
  // 2.0.11 order for a reused client id: BASIC_AUTH(new), DISCONNECT(old).
  Start();
  mosquitto* old_connection = Login("alice", "alice-pw");
  mosquitto* new_connection = Login("alice", "alice-pw");
  broker_->Disconnect(old_connection);
  EXPECT_EQ(broker_->AclCheck(new_connection, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/#"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(old_connection, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/#"), MOSQ_ERR_ACL_DENIED);
}

TEST_F(PluginInProcessTest, DisconnectOfARefusedLoginWithNoClientIdIsHarmless) {
  Start();
  mosquitto* refused = broker_->AddClient(std::nullopt);
  EXPECT_EQ(broker_->BasicAuth(refused, "alice", "alice-pw"), MOSQ_ERR_AUTH);
  broker_->Disconnect(refused);
  broker_->Tick();
  EXPECT_EQ(broker_->Reload(), MOSQ_ERR_SUCCESS);
}

}  // namespace
}  // namespace chat::harness
