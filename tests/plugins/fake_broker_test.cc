// The FakeBroker harness itself, with no plugin or a trivial one.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- The harness itself ----------------------------------------------------------------------------

int Noop(int, void*, void*) { return MOSQ_ERR_SUCCESS; }

TEST(FakeBrokerTest, LoadReportsAMissingLibrary) {
  FakeBroker broker;
  EXPECT_EQ(broker.LoadPlugin("/nonexistent/plugin.so"), MOSQ_ERR_UNKNOWN);
  EXPECT_THAT(broker.last_load_error(), HasSubstr("/nonexistent/plugin.so"));
  EXPECT_EQ(broker.plugin_count(), 0u);
}

TEST(FakeBrokerTest, BrokerPublishChecksArgumentsAndTakesThePayload) {
  FakeBroker broker;
  EXPECT_EQ(mosquitto_broker_publish(nullptr, nullptr, 0, nullptr, 1, false, nullptr), MOSQ_ERR_INVAL);
  EXPECT_EQ(mosquitto_broker_publish(nullptr, "t", 1, nullptr, 1, false, nullptr), MOSQ_ERR_INVAL);
  EXPECT_EQ(mosquitto_broker_publish(nullptr, "t", 0, nullptr, 3, false, nullptr), MOSQ_ERR_INVAL);
  void* payload = mosquitto_malloc(2);
  std::memcpy(payload, "hi", 2);
  EXPECT_EQ(mosquitto_broker_publish("c:1", "t", 2, payload, 1, true, nullptr), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(mosquitto_broker_publish_copy(nullptr, "u", 3, "abc", 0, false, nullptr), MOSQ_ERR_SUCCESS);
  ASSERT_EQ(broker.published().size(), 2u);
  EXPECT_EQ(broker.published()[0].client_id, "c:1");
  EXPECT_EQ(broker.published()[0].payload, "hi");
  EXPECT_TRUE(broker.published()[0].retain);
  EXPECT_EQ(broker.published()[1].client_id, std::nullopt);
  EXPECT_EQ(broker.published()[1].payload, "abc");
  EXPECT_EQ(broker.published()[1].event, 0);
}

TEST(FakeBrokerTest, ClientAccessorsFollowTheBroker) {
  FakeBroker broker;
  mosquitto* client = broker.AddClient("alice:phone", 4);
  EXPECT_STREQ(mosquitto_client_id(client), "alice:phone");
  EXPECT_EQ(mosquitto_client_username(client), nullptr);
  EXPECT_EQ(mosquitto_client_protocol_version(client), 4);
  EXPECT_EQ(mosquitto_client_protocol(client), mp_mqtt);
  EXPECT_EQ(mosquitto_set_username(client, "alice"), MOSQ_ERR_SUCCESS);
  EXPECT_STREQ(mosquitto_client_username(client), "alice");
  EXPECT_EQ(mosquitto_client_id(nullptr), nullptr);
  EXPECT_EQ(mosquitto_client_keepalive(nullptr), -1);
  EXPECT_EQ(mosquitto_kick_client_by_clientid("alice:phone", false), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(mosquitto_kick_client_by_clientid("bob:phone", false), MOSQ_ERR_NOT_FOUND);
  ASSERT_EQ(broker.kicks().size(), 2u);
  mosquitto_log_printf(MOSQ_LOG_WARNING, "x=%d %s", 42, "y");
  EXPECT_TRUE(broker.LogContains("x=42 y", MOSQ_LOG_WARNING));
}

TEST(FakeBrokerTest, BrokerFunctionsCalledFromAnotherThreadAreViolations) {
  FakeBroker broker;
  mosquitto* client = broker.AddClient("alice:phone");
  std::thread([client] {
    mosquitto_client_id(client);
    mosquitto_log_printf(MOSQ_LOG_INFO, "from a thread");
  }).join();
  EXPECT_EQ(broker.violations().size(), 2u);
  EXPECT_FALSE(broker.LogContains("from a thread"));
}

TEST(FakeBrokerTest, RegistrationNeedsAPluginIdentifier) {
  FakeBroker broker;
  EXPECT_EQ(mosquitto_callback_register(nullptr, MOSQ_EVT_TICK, Noop, nullptr, nullptr), MOSQ_ERR_INVAL);
  EXPECT_EQ(broker.violations().size(), 1u);
  EXPECT_EQ(mosquitto_callback_unregister(nullptr, MOSQ_EVT_TICK, Noop, nullptr), MOSQ_ERR_INVAL);
}

TEST(FakeBrokerTest, BrokerAclCheckAppliesTheBrokersOwnRules) {
  FakeBroker broker;
  mosquitto* client = broker.AddClient("a:b");
  mosquitto* no_id = broker.AddClient(std::nullopt);
  // No plugin: everything the broker itself allows passes.
  EXPECT_EQ(broker.BrokerAclCheck(client, MOSQ_ACL_WRITE, "x/y"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker.BrokerAclCheck(client, MOSQ_ACL_WRITE, "$SYS/x"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker.BrokerAclCheck(client, MOSQ_ACL_WRITE, "$SYS/broker/connection/b1/state"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker.BrokerAclCheck(client, MOSQ_ACL_READ, "$SYS/x"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker.BrokerAclCheck(client, MOSQ_ACL_WRITE, "$share/g/t"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker.BrokerAclCheck(client, MOSQ_ACL_SUBSCRIBE, "$share/g/t"), MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker.BrokerAclCheck(no_id, MOSQ_ACL_WRITE, "x/y"), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker.AclCheck(client, MOSQ_ACL_WRITE, "x/y"), MOSQ_ERR_PLUGIN_DEFER);
  EXPECT_EQ(broker.BasicAuth(client, "a", "p"), MOSQ_ERR_PLUGIN_DEFER);
}

}  // namespace
}  // namespace chat::harness
