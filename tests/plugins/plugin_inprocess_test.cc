// The built chat_plugin.so inside FakeBroker (tests/plugins/fake_broker.h), on a real RocksDB in a
// temporary folder: every broker event the plugin handles, one at a time, with what it published.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/account_service.h"
#include "core/clock.h"
#include "core/settings.h"
#include "storage/rocksdb_store.h"
#include "tests/plugins/fake_broker.h"

namespace chat::harness {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using json = nlohmann::json;

constexpr char kPluginPath[] = CHAT_PLUGIN_PATH;
constexpr char kControlTopic[] = "$CONTROL/chat-accounts/v1";
constexpr char kControlResponseTopic[] = "$CONTROL/chat-accounts/v1/response";

std::string MakeTempDir() {
  char pattern[] = "/tmp/chat-inprocess-XXXXXX";
  if (mkdtemp(pattern) == nullptr) std::abort();
  return pattern;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

json Json(const std::string& text) { return json::parse(text); }

class PluginInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    data_dir_ = dir_ + "/data";
    config_path_ = dir_ + "/chat.yaml";
    WriteFile(config_path_, "data_dir: " + data_dir_ + "\nauth:\n  pbkdf2_iterations: 1000\n");
    // RocksDB allows one opener: accounts are made and the store closed before the plugin opens it.
    auto store = storage::RocksDbStore::Open(data_dir_, core::Durability::kProcessCrash);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    core::SystemClock clock;
    core::AuthSettings auth;
    auth.pbkdf2_iterations = 1000;
    core::AccountService accounts(**store, clock, auth);
    ASSERT_TRUE(accounts.AddUser("alice", "alice-pw", false).ok());
    ASSERT_TRUE(accounts.AddUser("bob", "bob-pw", false).ok());
    ASSERT_TRUE(accounts.AddUser("root", "root-pw", true).ok());
  }

  void TearDown() override {
    if (broker_ != nullptr) {
      broker_->UnloadAll();
      EXPECT_THAT(broker_->violations(), IsEmpty());
      broker_.reset();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Loads the plugin with `options` (default: our config file); returns init's answer.
  int Load(const PluginOptions& options) {
    broker_.reset();  // one FakeBroker at a time
    broker_ = std::make_unique<FakeBroker>();
    return broker_->LoadPlugin(kPluginPath, options);
  }
  void Start() { ASSERT_EQ(Load({{"config_file", config_path_}}), MOSQ_ERR_SUCCESS) << broker_->last_load_error(); }

  // A connection that logged in as `user` with client id "<user>:<device>".
  // What the login published (the user's presence, when they were offline) is taken out of the record,
  // so tests see only what their own events publish.
  mosquitto* Login(const std::string& user, const std::string& password, const std::string& device = "phone") {
    mosquitto* client = broker_->AddClient(user + ":" + device);
    EXPECT_EQ(broker_->BasicAuth(client, user, password), MOSQ_ERR_SUCCESS) << user;
    for (const Publication& p : broker_->TakePublished()) EXPECT_EQ(p.topic, "chat/v1/presence/" + user);
    return client;
  }

  // BASIC_AUTH as a real client sees it: an answer of "closed without CONNACK" (the password is being
  // checked off the broker thread) is followed by a reconnect, until a real answer comes.
  int SettledBasicAuth(mosquitto* client, const std::string& user, const std::string& password) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      int rc = broker_->BasicAuth(client, user, password);
      if (rc != MOSQ_ERR_UNKNOWN) return rc;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return MOSQ_ERR_UNKNOWN;
  }

  std::string SendPayload(const std::string& to, const std::string& text, const std::string& cmid) {
    return json{{"to", to}, {"text", text}, {"cmid", cmid}}.dump();
  }

  std::string dir_;
  std::string data_dir_;
  std::string config_path_;
  std::unique_ptr<FakeBroker> broker_;
};

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

// --- MESSAGE ---------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, ValidSendIsStoredAndPublishedToBothUsersAndAckedToTheSender) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  MessageOutcome out = broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "Hello, Bob!", "c1"),
                                        /*qos=*/1, /*retain=*/true);
  EXPECT_EQ(out.rc, MOSQ_ERR_SUCCESS);
  EXPECT_FALSE(out.retain);  // a request is never retained
  EXPECT_EQ(out.topic, "chat/v1/req/send");

  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 3u);
  const Publication& to_bob = published[0];
  const Publication& to_alice = published[1];
  const Publication& ack = published[2];
  EXPECT_EQ(to_bob.client_id, std::nullopt);
  EXPECT_EQ(to_bob.topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(to_alice.client_id, std::nullopt);
  EXPECT_EQ(to_alice.topic, "chat/v1/user/alice/msg");
  EXPECT_EQ(ack.client_id, "alice:phone");
  EXPECT_EQ(ack.topic, "chat/v1/user/alice/reply");
  EXPECT_EQ(to_bob.qos, 1);    // events must reach every device
  EXPECT_EQ(to_alice.qos, 1);
  EXPECT_EQ(ack.qos, 0);       // a reply lost with its connection is recovered by retrying the send
  for (const Publication& p : published) {
    EXPECT_FALSE(p.retain);
    EXPECT_FALSE(p.has_properties);
    EXPECT_EQ(p.event, MOSQ_EVT_MESSAGE);
  }

  json event = Json(to_bob.payload);
  EXPECT_EQ(event["type"], "message");
  EXPECT_EQ(event["from"], "alice");
  EXPECT_EQ(event["to"], "bob");
  EXPECT_EQ(event["text"], "Hello, Bob!");
  EXPECT_EQ(event["cmid"], "c1");
  EXPECT_EQ(to_alice.payload, to_bob.payload);
  json acked = Json(ack.payload);
  EXPECT_EQ(acked["type"], "ack");
  EXPECT_EQ(acked["cmid"], "c1");
  EXPECT_EQ(acked["id"], event["id"]);
  EXPECT_FALSE(acked.contains("duplicate"));

  // Stored: bob's history has it.
  mosquitto* bob = Login("bob", "bob-pw");
  EXPECT_EQ(broker_->Message(bob, "chat/v1/req/history", R"({"rid":"h1","peer":"alice"})").rc, MOSQ_ERR_SUCCESS);
  published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].client_id, "bob:phone");
  json page = Json(published[0].payload);
  ASSERT_EQ(page["messages"].size(), 1u);
  EXPECT_EQ(page["messages"][0]["id"], event["id"]);
}

TEST_F(PluginInProcessTest, SendToOneselfIsPublishedOnceToTheUserTopic) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("alice", "note", "n1")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].topic, "chat/v1/user/alice/msg");
  EXPECT_EQ(published[1].topic, "chat/v1/user/alice/reply");
}

TEST_F(PluginInProcessTest, TooLongSendIsRejectedWithOneErrorToTheSenderAndNothingStored) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  std::string text(100001, 'x');  // the default limit is 100000 code points
  MessageOutcome out = broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", text, "long1"), 1, true);
  EXPECT_EQ(out.rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_FALSE(out.retain);

  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].client_id, "alice:phone");
  EXPECT_EQ(published[0].topic, "chat/v1/user/alice/reply");
  json error = Json(published[0].payload);
  EXPECT_EQ(error["type"], "error");
  EXPECT_EQ(error["op"], "send");
  EXPECT_EQ(error["code"], "too_long");
  EXPECT_EQ(error["cmid"], "long1");

  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/history", R"({"peer":"bob"})").rc, MOSQ_ERR_SUCCESS);
  published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  json page = Json(published[0].payload);
  EXPECT_EQ(page["type"], "history");
  EXPECT_THAT(page["messages"], IsEmpty());
}

TEST_F(PluginInProcessTest, RejectedRequestsEachGetOneErrorReply) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  struct Case {
    std::string payload;
    std::string code;
  };
  for (const Case& c : std::vector<Case>{{"not json", "bad_request"},
                                         {R"({"to":"bob"})", "bad_request"},
                                         {R"({"to":"nobody","text":"hi"})", "unknown_peer"},
                                         {"{\"to\":\"bob\",\"text\":\"\xff\"}", "bad_utf8"}}) {
    EXPECT_EQ(broker_->Message(alice, "chat/v1/req/send", c.payload).rc, MOSQ_ERR_ACL_DENIED) << c.payload;
    std::vector<Publication> published = broker_->TakePublished();
    ASSERT_EQ(published.size(), 1u) << c.payload;
    EXPECT_EQ(published[0].client_id, "alice:phone");
    EXPECT_EQ(Json(published[0].payload)["code"], c.code) << c.payload;
  }
}

TEST_F(PluginInProcessTest, RetryWithTheSameCmidIsAckedAsDuplicateWithoutNewEvents) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  ASSERT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "once", "r1")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> first = broker_->TakePublished();
  ASSERT_EQ(first.size(), 3u);
  std::string id = Json(first[2].payload)["id"];

  // The retry comes from another device of the same user, after a reconnect.
  mosquitto* laptop = Login("alice", "alice-pw", "laptop");
  EXPECT_EQ(broker_->Message(laptop, "chat/v1/req/send", SendPayload("bob", "once", "r1")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> retry = broker_->TakePublished();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].client_id, "alice:laptop");
  EXPECT_EQ(retry[0].topic, "chat/v1/user/alice/reply");
  json ack = Json(retry[0].payload);
  EXPECT_EQ(ack["type"], "ack");
  EXPECT_EQ(ack["id"], id);
  EXPECT_EQ(ack["duplicate"], true);
}

TEST_F(PluginInProcessTest, MessageOnAnotherTopicIsLeftAlone) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  MessageOutcome out = broker_->Message(alice, "some/other/topic", "payload", 0, true);
  EXPECT_EQ(out.rc, MOSQ_ERR_SUCCESS);
  EXPECT_TRUE(out.retain);
  EXPECT_EQ(out.payload, "payload");
  EXPECT_THAT(broker_->published(), IsEmpty());
}

TEST_F(PluginInProcessTest, RequestFromAnUnauthenticatedClientIsDropped) {
  Start();
  mosquitto* stranger = broker_->AddClient("alice:phone");
  EXPECT_EQ(broker_->Message(stranger, "chat/v1/req/send", SendPayload("bob", "hi", "s1")).rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_THAT(broker_->published(), IsEmpty());
}

TEST_F(PluginInProcessTest, ClientPublishRunsTheWriteCheckFirst) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->ClientPublish(alice, "chat/v1/user/bob/msg", R"({"type":"message"})").rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->ClientPublish(alice, "$SYS/broker/x", "x").rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_THAT(broker_->published(), IsEmpty());
  EXPECT_EQ(broker_->ClientPublish(alice, "chat/v1/req/send", SendPayload("bob", "hi", "p1")).rc, MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->TakePublished().size(), 3u);
}

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

TEST_F(PluginInProcessTest, AclRefusesRetainedPublishes) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/send", "", 1, /*retain=*/true), MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->AclCheck(alice, MOSQ_ACL_WRITE, "chat/v1/req/send", "", 1, /*retain=*/false), MOSQ_ERR_SUCCESS);
}

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

// --- Restart ---------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, MessagesSurviveAReloadOfThePlugin) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  ASSERT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "before", "k1")).rc, MOSQ_ERR_SUCCESS);
  std::string first_id = Json(broker_->TakePublished().at(2).payload)["id"];
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
  std::string second_id = Json(broker_->TakePublished().at(2).payload)["id"];
  EXPECT_GT(std::stoull(second_id), std::stoull(first_id));
}

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
