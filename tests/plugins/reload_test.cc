// Restart inside FakeBroker: what is stored survives unloading and loading the plugin again.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- Restart ---------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, MessagesSurviveAReloadOfThePlugin) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  ASSERT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "before", "k1")).rc, MOSQ_ERR_SUCCESS);
  std::string first_id = Json(broker_->TakePublished().at(0).payload)["id"];  // the ack: bob has no device
  broker_->UnloadAll();
  ASSERT_THAT(broker_->violations(), IsEmpty());
  ASSERT_EQ(broker_->LoadPlugin(kPluginPath, {{"config_file", config_path_}}), MOSQ_ERR_SUCCESS);

  mosquitto* again = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->Message(again, "chat/v1/req/send", SendPayload("bob", "before", "k1")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> retry = broker_->TakePublished();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(Json(retry[0].payload)["id"], first_id);
  EXPECT_EQ(Json(retry[0].payload)["duplicate"], true);
  EXPECT_EQ(broker_->Message(again, "chat/v1/req/send", SendPayload("bob", "after", "k2")).rc, MOSQ_ERR_SUCCESS);
  std::string second_id = Json(broker_->TakePublished().at(0).payload)["id"];
  EXPECT_GT(std::stoull(second_id), std::stoull(first_id));
}

}  // namespace
}  // namespace chat::harness
