// The plugin's init and cleanup inside FakeBroker: callbacks registered and removed, configs refused.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- Init ------------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, InitRegistersOneCallbackPerEventAndCleanupRemovesThem) {
  Start();
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_BASIC_AUTH), 1u);
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_ACL_CHECK), 1u);
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_MESSAGE), 1u);
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_DISCONNECT), 1u);
  EXPECT_TRUE(broker_->HasControlCallback(kControlTopic));
  EXPECT_TRUE(broker_->LogContains("chat: started", MOSQ_LOG_INFO));
  EXPECT_THAT(broker_->published(), IsEmpty());

  broker_->UnloadAll();
  EXPECT_EQ(broker_->plugin_count(), 0u);
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_BASIC_AUTH) + broker_->CallbackCount(MOSQ_EVT_ACL_CHECK) +
                broker_->CallbackCount(MOSQ_EVT_MESSAGE) + broker_->CallbackCount(MOSQ_EVT_DISCONNECT) +
                broker_->CallbackCount(MOSQ_EVT_CONTROL),
            0u);
  EXPECT_THAT(broker_->violations(), IsEmpty());
}

TEST_F(PluginInProcessTest, InitFailsWithoutConfigFileOption) {
  EXPECT_EQ(Load({}), MOSQ_ERR_INVAL);
  EXPECT_TRUE(broker_->LogContains("plugin_opt_config_file is required", MOSQ_LOG_ERR));
  EXPECT_EQ(broker_->plugin_count(), 0u);
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_BASIC_AUTH), 0u);
}

TEST_F(PluginInProcessTest, InitFailsWithMissingConfigFile) {
  EXPECT_EQ(Load({{"config_file", dir_ + "/no-such.yaml"}}), MOSQ_ERR_INVAL);
  EXPECT_TRUE(broker_->LogContains("no-such.yaml", MOSQ_LOG_ERR));
  EXPECT_EQ(broker_->plugin_count(), 0u);
}

TEST_F(PluginInProcessTest, InitFailsWithBadConfigNamingTheKey) {
  WriteFile(config_path_, "data_dir: " + data_dir_ + "\nlimits:\n  max_message_chars: 0\n");
  EXPECT_EQ(Load({{"config_file", config_path_}}), MOSQ_ERR_INVAL);
  EXPECT_TRUE(broker_->LogContains("limits.max_message_chars", MOSQ_LOG_ERR));
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_ACL_CHECK), 0u);
}

TEST_F(PluginInProcessTest, InitFailsWithInvalidYaml) {
  WriteFile(config_path_, "data_dir: [unclosed\n");
  EXPECT_EQ(Load({{"config_file", config_path_}}), MOSQ_ERR_INVAL);
  EXPECT_TRUE(broker_->LogContains("bad config", MOSQ_LOG_ERR));
}

TEST_F(PluginInProcessTest, InitFailsWhileTheStoreIsOpenElsewhere) {
  auto holder = storage::RocksDbStore::Open(data_dir_, core::Durability::kProcessCrash);
  ASSERT_TRUE(holder.ok());
  EXPECT_EQ(Load({{"config_file", config_path_}}), MOSQ_ERR_UNKNOWN);
  EXPECT_TRUE(broker_->LogContains("chat: cannot start", MOSQ_LOG_ERR));
  EXPECT_EQ(broker_->CallbackCount(MOSQ_EVT_MESSAGE), 0u);
}

}  // namespace
}  // namespace chat::harness
