// BASIC_AUTH inside FakeBroker: passwords, client ids, keepalive, devices per user.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- BASIC_AUTH ------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, BasicAuthAcceptsTheRightPassword) {
  Start();
  mosquitto* alice = broker_->AddClient("alice:phone");
  EXPECT_EQ(broker_->BasicAuth(alice, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
  // Again from a second device, now from the credential cache.
  mosquitto* laptop = broker_->AddClient("alice:laptop", 4);
  EXPECT_EQ(broker_->BasicAuth(laptop, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
}

TEST_F(PluginInProcessTest, BasicAuthRefusesAWrongPassword) {
  Start();
  mosquitto* alice = broker_->AddClient("alice:phone");
  EXPECT_EQ(broker_->BasicAuth(alice, "alice", "bob-pw"), MOSQ_ERR_AUTH);
  EXPECT_EQ(SettledBasicAuth(alice, "alice", ""), MOSQ_ERR_AUTH);
}

TEST_F(PluginInProcessTest, AfterAFailedLoginTheNextIsCheckedOffTheBrokerThreadAndTheClientComesBack) {
  Start();
  mosquitto* guess = broker_->AddClient("alice:phone");
  EXPECT_EQ(broker_->BasicAuth(guess, "alice", "guess"), MOSQ_ERR_AUTH);  // quiet until now: checked at once
  mosquitto* alice = broker_->AddClient("alice:laptop");
  // From the same address: no PBKDF2 on this thread; Mosquitto closes without CONNACK, the client retries.
  EXPECT_EQ(broker_->BasicAuth(alice, "alice", "alice-pw"), MOSQ_ERR_UNKNOWN);
  EXPECT_EQ(SettledBasicAuth(alice, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
  EXPECT_THAT(broker_->violations(), testing::IsEmpty());  // the hash thread called no broker function
}

TEST_F(PluginInProcessTest, BasicAuthRefusesAnUnknownUser) {
  Start();
  mosquitto* mallory = broker_->AddClient("mallory:phone");
  EXPECT_EQ(broker_->BasicAuth(mallory, "mallory", "x"), MOSQ_ERR_AUTH);
}

TEST_F(PluginInProcessTest, BasicAuthRefusesAnonymousAndPasswordlessLogins) {
  Start();
  mosquitto* anonymous = broker_->AddClient("alice:phone");
  EXPECT_EQ(broker_->BasicAuth(anonymous, std::nullopt, std::nullopt), MOSQ_ERR_AUTH);
  mosquitto* no_password = broker_->AddClient("alice:phone");
  EXPECT_EQ(broker_->BasicAuth(no_password, "alice", std::nullopt), MOSQ_ERR_AUTH);
}

TEST_F(PluginInProcessTest, BasicAuthRefusesAClientIdNotBoundToTheUser) {
  Start();
  for (const char* id : {"bob:x", "alice", "alice:", "alice:bad/device", "alicex:phone", "x:alice:phone"}) {
    mosquitto* client = broker_->AddClient(std::string(id));
    EXPECT_EQ(broker_->BasicAuth(client, "alice", "alice-pw"), MOSQ_ERR_AUTH) << id;
  }
  mosquitto* no_id = broker_->AddClient(std::nullopt);
  EXPECT_EQ(broker_->BasicAuth(no_id, "alice", "alice-pw"), MOSQ_ERR_AUTH);
}

TEST_F(PluginInProcessTest, BasicAuthAcceptsABrokerAssignedClientId) {
  Start();
  mosquitto* client = broker_->AddClient("auto-0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D");
  EXPECT_EQ(broker_->BasicAuth(client, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
}

TEST_F(PluginInProcessTest, BasicAuthRefusesKeepaliveZeroOrTooLong) {
  Start();
  for (int keepalive : {0, 301}) {
    for (int version : {4, 5}) {
      mosquitto* client = broker_->AddClient("alice:k" + std::to_string(keepalive) + std::to_string(version), version);
      client->keepalive = keepalive;
      EXPECT_EQ(broker_->BasicAuth(client, "alice", "alice-pw"), MOSQ_ERR_AUTH) << keepalive << " v" << version;
    }
  }
  mosquitto* ok = broker_->AddClient("alice:k300", 4);
  ok->keepalive = 300;
  EXPECT_EQ(broker_->BasicAuth(ok, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
}

TEST_F(PluginInProcessTest, BasicAuthCapsDevicesPerUser) {
  WriteFile(config_path_, "data_dir: " + data_dir_ + "\nauth:\n  pbkdf2_iterations: 1000\nlimits:\n  max_devices_per_user: 2\n");
  Start();
  Login("alice", "alice-pw", "a");
  Login("alice", "alice-pw", "b");
  mosquitto* third = broker_->AddClient("alice:c");
  EXPECT_EQ(broker_->BasicAuth(third, "alice", "alice-pw"), MOSQ_ERR_AUTH);
  mosquitto* again = broker_->AddClient("alice:a");  // a reconnect of a connected device is no new device
  EXPECT_EQ(broker_->BasicAuth(again, "alice", "alice-pw"), MOSQ_ERR_SUCCESS);
  Login("bob", "bob-pw", "c");
}

}  // namespace
}  // namespace chat::harness
