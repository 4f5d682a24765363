// ACL_CHECK inside FakeBroker: which topics a user, an admin and an unauthenticated client may use.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- ACL_CHECK -------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, AclLetsAUserSubscribeOnlyUnderTheirOwnPrefix) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/#"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/msg"), MOSQ_ERR_SUCCESS);
  for (const char* filter : {"#", "+/#", "chat/#", "chat/v1/user/+/msg", "chat/v1/user/bob/#", "chat/v1/user/alice",
                             "chat/v1/user/alicex/#", "$SYS/#", "$CONTROL/chat-accounts/v1/response",
                             "$share/g/chat/v1/user/bob/#", "chat/v1/req/send"}) {
    EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_SUBSCRIBE, filter), MOSQ_ERR_ACL_DENIED) << filter;
  }
}

TEST_F(PluginInProcessTest, AclLetsAUserWriteOnlyToRequestTopics) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/send"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/history"), MOSQ_ERR_SUCCESS);
  for (const char* topic : {"chat/v1/user/bob/msg", "chat/v1/user/alice/msg", "chat/v1/req/other", "other",
                            kControlTopic}) {
    EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, topic), MOSQ_ERR_ACL_DENIED) << topic;
  }
}

TEST_F(PluginInProcessTest, AclDeniesReadingAnotherUsersTopics) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_READ, "chat/v1/user/alice/msg"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_READ, "chat/v1/user/bob/msg"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_READ, "chat/v1/user/bob/reply"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_READ, "$SYS/broker/uptime"), MOSQ_ERR_ACL_DENIED);
}

TEST_F(PluginInProcessTest, AclLetsAnAdminUseTheControlTopics) {
  Start();
  mosquitto* root = Login("root", "root-pw", "console");
  EXPECT_EQ(broker_->AclCheck(root, MOSQ_ACL_WRITE, kControlTopic), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(root, MOSQ_ACL_SUBSCRIBE, kControlResponseTopic), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(root, MOSQ_ACL_READ, kControlResponseTopic), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->AclCheck(root, MOSQ_ACL_SUBSCRIBE, "chat/v1/user/alice/#"), MOSQ_ERR_ACL_DENIED);
}

TEST_F(PluginInProcessTest, AclDeniesEverythingToAClientThatNeverAuthenticated) {
  Start();
  mosquitto* stranger = broker_->AddClient("alice:phone");
  mosquitto* refused = broker_->AddClient("alice:laptop");
  EXPECT_EQ(broker_->BasicAuth(refused, "alice", "wrong"), MOSQ_ERR_AUTH);
  for (mosquitto* client : {stranger, refused}) {
    for (int access : {MOSQ_ACL_READ, MOSQ_ACL_WRITE, MOSQ_ACL_SUBSCRIBE, MOSQ_ACL_UNSUBSCRIBE}) {
      for (const char* topic : {"chat/v1/user/alice/#", "chat/v1/user/alice/msg", "chat/v1/req/send", "#"}) {
        EXPECT_EQ(broker_->AclCheck(client, access, topic), MOSQ_ERR_ACL_DENIED) << access << " " << topic;
      }
    }
  }
}

TEST_F(PluginInProcessTest, AclRefusesRetainedPublishes) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/send", "", 1, /*retain=*/true), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/send", "", 1, /*retain=*/false), MOSQ_ERR_SUCCESS);
}

}  // namespace
}  // namespace chat::harness
