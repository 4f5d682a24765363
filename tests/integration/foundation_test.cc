// The foundation's behaviour through the real broker: /usr/sbin/mosquitto with the built plugin on free
// loopback ports, real RocksDB in a temporary folder, Paho MQTT C++ clients.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "core/message_id.h"
#include "harness/broker_process.h"
#include "tests/harness/test_client.h"

namespace chat::harness {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class FoundationTest : public ::testing::Test {
 protected:
  void SetUp() override { StartBroker({}); }

  void StartBroker(BrokerOptions options) {
    broker_ = std::make_unique<BrokerProcess>(std::move(options));
    for (const char* user : {"alice", "bob", "carol"}) ASSERT_EQ(broker_->AddUserOffline(user, "pw-" + std::string(user)), "");
    ASSERT_EQ(broker_->AddUserOffline("root1", "pw-root1", /*is_admin=*/true), "");
    ASSERT_EQ(broker_->Start(), "");
  }

  // A connected device of `user`, subscribed to its own topics.
  std::unique_ptr<ChatTestClient> Device(const std::string& user, const std::string& device, int version = 5) {
    auto client = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), user, device, version);
    EXPECT_EQ(client->Connect("pw-" + user), "");
    EXPECT_TRUE(client->SubscribeOwn());
    return client;
  }

  std::unique_ptr<BrokerProcess> broker_;
};

std::function<bool(const Received&)> MessageWithText(const std::string& text) {
  return [text](const Received& r) { return r.json.is_object() && r.json.value("text", "") == text; };
}

TEST_F(FoundationTest, WrongPasswordAnonymousAndForeignClientIdsAreRefused) {
  ChatTestClient wrong(broker_->mqtt_uri(), "alice", "phone");
  EXPECT_NE(wrong.Connect("nope"), "");
  ChatTestClient unknown(broker_->mqtt_uri(), "mallory", "phone");
  EXPECT_NE(unknown.Connect("pw"), "");

  auto anonymous = std::make_unique<mqtt::async_client>(broker_->mqtt_uri(), "anon:x");
  auto options = mqtt::connect_options_builder().connect_timeout(seconds(5)).finalize();
  EXPECT_THROW(anonymous->connect(options)->wait(), mqtt::exception);

  // Bob may not use a client id of Alice's: that would disconnect her device (session takeover).
  auto alice = Device("alice", "phone");
  ChatTestClient bob(broker_->mqtt_uri(), "bob", "phone");
  EXPECT_NE(bob.ConnectAs("alice:phone", "pw-bob"), "");
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(alice->connected());

  // An empty client id gets a broker-assigned one, which is accepted.
  ChatTestClient assigned(broker_->mqtt_uri(), "bob", "");
  EXPECT_EQ(assigned.Connect("pw-bob"), "");
}

TEST_F(FoundationTest, MessageReachesEveryOtherDeviceOfBothUsersAndTheSenderGetsAnAckWithItsSeq) {
  auto alice_phone = Device("alice", "phone");
  auto alice_laptop = Device("alice", "laptop");
  auto bob_phone = Device("bob", "phone");

  EXPECT_LT(alice_phone->Send("bob", "hello bob", "c-1"), 0x80);  // received: PUBACK success (0x00 or 0x10)
  auto ack = alice_phone->WaitForType("ack");  // stored
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["cmid"], "c-1");
  EXPECT_EQ((*ack)["seq"], 1);  // the message's place in alice's queue, for this device's sync position
  std::string id = (*ack)["id"];
  ASSERT_TRUE(core::ParseMessageId(id));

  for (ChatTestClient* device : {bob_phone.get(), alice_laptop.get()}) {
    auto got = device->WaitFor(MessageWithText("hello bob"));
    ASSERT_TRUE(got) << device->client_id();
    EXPECT_EQ(got->topic, "chat/v1/user/" + device->user() + "/msg");
    EXPECT_EQ(got->json["id"], id);
    EXPECT_EQ(got->json["from"], "alice");
    EXPECT_EQ(got->json["to"], "bob");
  }
  // The ack went to the sending device only, and it got no copy of the event besides.
  EXPECT_FALSE(alice_phone->WaitFor(MessageWithText("hello bob"), milliseconds(300)));
  EXPECT_FALSE(alice_laptop->WaitForType("ack", milliseconds(100)));
  EXPECT_FALSE(bob_phone->WaitForType("ack", milliseconds(100)));
}

TEST_F(FoundationTest, IdsIncreaseAndHistoryPagesBothWays) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  std::vector<core::MessageId> ids;
  for (int i = 0; i < 25; ++i) {
    ChatTestClient* from = i % 3 ? alice.get() : bob.get();
    ASSERT_GE(from->Send(from == alice.get() ? "bob" : "alice", "m" + std::to_string(i), "h" + std::to_string(i)), 0);
    auto ack = from->WaitForType("ack");
    ASSERT_TRUE(ack);
    ids.push_back(*core::ParseMessageId((*ack)["id"].get<std::string>()));
    if (ids.size() > 1) {
      EXPECT_GT(ids.back(), ids[ids.size() - 2]);
    }
  }

  std::vector<std::string> texts;
  json request = {{"rid", "p"}, {"peer", "alice"}, {"limit", 10}};
  for (int page = 0; page < 5; ++page) {
    bob->Publish("chat/v1/req/history", request.dump());
    auto reply = bob->WaitForType("history");
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["rid"], "p");
    for (const json& m : (*reply)["messages"]) texts.push_back(m["text"]);
    if (!(*reply)["more"].get<bool>()) break;
    request["before"] = (*reply)["messages"].back()["id"];
  }
  ASSERT_EQ(texts.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(texts[i], "m" + std::to_string(24 - i));

  json forward = {{"peer", "bob"}, {"after", core::FormatMessageId(ids[19])}, {"order", "oldest_first"}};
  alice->Publish("chat/v1/req/history", forward.dump());
  auto reply = alice->WaitForType("history");
  ASSERT_TRUE(reply);
  ASSERT_EQ((*reply)["messages"].size(), 5u);
  EXPECT_EQ((*reply)["messages"][0]["text"], "m20");
  EXPECT_FALSE((*reply)["more"]);
}

TEST_F(FoundationTest, HistoryAndIdOrderSurviveRestartAndCrash) {
  std::string first_id;
  {
    auto alice = Device("alice", "phone");
    alice->Send("bob", "before restart", "r1");
    first_id = (*alice->WaitForType("ack"))["id"];
  }
  ASSERT_EQ(broker_->Stop(), 0);
  ASSERT_EQ(broker_->Start(), "");
  std::string second_id;
  {
    auto alice = Device("alice", "phone");
    alice->Send("bob", "before crash", "r2");
    auto ack = alice->WaitForType("ack");  // the ack means stored: a crash now must not lose it
    ASSERT_TRUE(ack);
    second_id = (*ack)["id"];
    EXPECT_GT(*core::ParseMessageId(second_id), *core::ParseMessageId(first_id));
  }
  broker_->Kill();
  ASSERT_EQ(broker_->Start(), "");
  auto bob = Device("bob", "phone");
  bob->Publish("chat/v1/req/history", json{{"peer", "alice"}}.dump());
  auto reply = bob->WaitForType("history");
  ASSERT_TRUE(reply);
  ASSERT_EQ((*reply)["messages"].size(), 2u);
  EXPECT_EQ((*reply)["messages"][0]["id"], second_id);
  EXPECT_EQ((*reply)["messages"][1]["text"], "before restart");
  // A retry of a send from before the crash is still recognised.
  auto alice = Device("alice", "phone");
  alice->Send("bob", "before crash", "r2");
  auto retry = alice->WaitForType("ack");
  ASSERT_TRUE(retry);
  EXPECT_EQ((*retry)["id"], second_id);
  EXPECT_EQ((*retry)["duplicate"], true);
  alice->Send("bob", "after crash", "r3");
  EXPECT_GT(*core::ParseMessageId((*alice->WaitForType("ack"))["id"].get<std::string>()),
            *core::ParseMessageId(second_id));
}

TEST_F(FoundationTest, RetriedSendIsStoredAndDeliveredOnce) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  for (int i = 0; i < 3; ++i) alice->Send("bob", "only once", "same-cmid");
  std::vector<std::string> ack_ids;
  for (int i = 0; i < 3; ++i) {
    auto ack = alice->WaitForType("ack");
    ASSERT_TRUE(ack);
    ack_ids.push_back((*ack)["id"]);
  }
  EXPECT_EQ(ack_ids[0], ack_ids[1]);
  EXPECT_EQ(ack_ids[1], ack_ids[2]);
  auto received = bob->Collect(milliseconds(500));
  EXPECT_EQ(std::count_if(received.begin(), received.end(), MessageWithText("only once")), 1);
  bob->Publish("chat/v1/req/history", json{{"peer", "alice"}}.dump());
  EXPECT_EQ((*bob->WaitForType("history"))["messages"].size(), 1u);
}

TEST_F(FoundationTest, TextOfExactlyTheLimitPassesAndOneMoreIsRefused) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  // Multi-byte characters: the limit counts characters, not bytes.
  std::string at_limit;
  for (int i = 0; i < 100000; ++i) at_limit += i % 2 ? "a" : "\xC3\xA9";
  EXPECT_GE(alice->Send("bob", at_limit, "big"), 0);
  auto ack = alice->WaitForType("ack");
  ASSERT_TRUE(ack);
  auto got = bob->WaitFor([](const Received& r) { return r.json.value("cmid", "") == "big"; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->json["text"], at_limit);

  EXPECT_EQ(alice->Send("bob", at_limit + "x", "too-big"), 0x87);  // MQTT 5: PUBACK "not authorized"
  auto error = alice->WaitForType("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "too_long");
  EXPECT_EQ((*error)["cmid"], "too-big");
  EXPECT_FALSE(bob->WaitFor([](const Received& r) { return r.json.value("cmid", "") == "too-big"; }, milliseconds(500)));
}

TEST_F(FoundationTest, Mqtt311ClientsGetRejectionsAsErrorMessages) {
  auto alice = Device("alice", "old-phone", /*version=*/4);
  EXPECT_GE(alice->Publish("chat/v1/req/send", "{\"to\":\"bob\",\"text\":\"\xC0\xAF\",\"cmid\":\"u1\"}"), 0);
  auto error = alice->WaitForType("error");
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "bad_utf8");
  EXPECT_EQ((*error)["cmid"], "u1");
  alice->Publish("chat/v1/req/send", "{\"rid\":\"j\",");
  EXPECT_EQ((*alice->WaitForType("error"))["code"], "bad_request");
  alice->Send("ghost", "hi", "u2");
  EXPECT_EQ((*alice->WaitForType("error"))["code"], "unknown_peer");
  alice->Send("bob", "fine", "u3");
  EXPECT_TRUE(alice->WaitForType("ack"));
}

TEST_F(FoundationTest, WildcardSubscriberSeesNothingOfOtherUsers) {
  auto carol = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "carol", "snoop");
  ASSERT_EQ(carol->Connect("pw-carol"), "");
  EXPECT_FALSE(carol->Subscribe("#"));
  EXPECT_FALSE(carol->Subscribe("chat/v1/user/+/msg"));
  EXPECT_FALSE(carol->Subscribe("chat/v1/user/bob/#"));
  EXPECT_FALSE(carol->Subscribe("$share/g/chat/v1/user/bob/#"));
  EXPECT_FALSE(carol->Subscribe("$SYS/#"));
  EXPECT_FALSE(carol->Subscribe("chat/v1/req/#"));
  EXPECT_TRUE(carol->Subscribe("chat/v1/user/carol/#"));
  auto carol_311 = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "carol", "snoop311", 4);
  ASSERT_EQ(carol_311->Connect("pw-carol"), "");
  carol_311->Subscribe("#");

  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  alice->Send("bob", "secret", "s1");
  bob->Send("alice", "secret reply", "s2");
  ASSERT_TRUE(bob->WaitFor(MessageWithText("secret")));
  ASSERT_TRUE(alice->WaitFor(MessageWithText("secret reply")));
  EXPECT_TRUE(carol->Collect(milliseconds(500)).empty());
  EXPECT_TRUE(carol_311->Collect(milliseconds(100)).empty());
}

TEST_F(FoundationTest, NobodyCanPublishAsSomeoneElse) {
  auto bob = Device("bob", "phone");
  auto carol = Device("carol", "phone");
  // Straight onto Bob's topic: refused by the ACL, never delivered.
  EXPECT_EQ(carol->Publish("chat/v1/user/bob/msg", R"({"type":"message","from":"alice","text":"forged"})"), 0x87);
  // A "from" in the payload is ignored: the sender is the login.
  carol->Publish("chat/v1/req/send", R"({"to":"bob","text":"forged2","from":"alice"})");
  auto got = bob->WaitFor(MessageWithText("forged2"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->json["from"], "carol");
  EXPECT_FALSE(bob->WaitFor(MessageWithText("forged"), milliseconds(300)));
  EXPECT_EQ(carol->Publish("$CONTROL/chat-accounts/v1", R"({"commands":[{"command":"listUsers"}]})"), 0x87);
}

TEST_F(FoundationTest, AdminManagesAccountsOnlineAndOthersCannot) {
  ChatTestClient admin(broker_->mqtt_uri(), "root1", "console");
  ASSERT_EQ(admin.Connect("pw-root1"), "");
  ASSERT_TRUE(admin.Subscribe("$CONTROL/chat-accounts/v1/response"));
  admin.Publish("$CONTROL/chat-accounts/v1",
                R"({"commands":[{"command":"addUser","username":"dave","password":"pw-dave"}]})");
  auto response = admin.WaitFor([](const Received& r) { return r.json.contains("responses"); });
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->json["responses"][0].contains("error")) << response->payload;
  auto dave = Device("dave", "phone");
  EXPECT_TRUE(dave->connected());

  auto carol = Device("carol", "phone");
  EXPECT_FALSE(carol->Subscribe("$CONTROL/chat-accounts/v1/response"));
  admin.Publish("$CONTROL/chat-accounts/v1",
                R"({"commands":[{"command":"setPassword","username":"dave","password":"changed"}]})");
  ASSERT_TRUE(admin.WaitFor([](const Received& r) { return r.json.contains("responses"); }));
  ChatTestClient old_password(broker_->mqtt_uri(), "dave", "tablet");
  EXPECT_NE(old_password.Connect("pw-dave"), "");
}

TEST_F(FoundationTest, DeletingAnAccountDisconnectsItsDevices) {
  auto bob = Device("bob", "phone");
  ChatTestClient admin(broker_->mqtt_uri(), "root1", "console");
  ASSERT_EQ(admin.Connect("pw-root1"), "");
  ASSERT_TRUE(admin.Subscribe("$CONTROL/chat-accounts/v1/response"));
  admin.Publish("$CONTROL/chat-accounts/v1", R"({"commands":[{"command":"deleteUser","username":"bob"}]})");
  ASSERT_TRUE(admin.WaitFor([](const Received& r) { return r.json.contains("responses"); }));
  for (int i = 0; i < 50 && bob->connected(); ++i) std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(bob->connected());
  ChatTestClient again(broker_->mqtt_uri(), "bob", "phone");
  EXPECT_NE(again.Connect("pw-bob"), "");
}

TEST_F(FoundationTest, ConnectionsWithoutKeepaliveAreRefused) {
  for (int version : {4, 5}) {
    ChatTestClient silent(broker_->mqtt_uri(), "alice", "silent" + std::to_string(version), version);
    silent.set_keepalive(0);
    EXPECT_NE(silent.Connect("pw-alice"), "") << "MQTT version " << version;
  }
}

TEST_F(FoundationTest, WebSocketListenerServesTheSameProtocol) {
  auto bob = Device("bob", "phone");
  ChatTestClient web(std::string("ws://127.0.0.1:") + std::to_string(broker_->ws_port()), "alice", "browser");
  ASSERT_EQ(web.Connect("pw-alice"), "");
  ASSERT_TRUE(web.SubscribeOwn());
  web.Send("bob", "over websocket", "w1");
  EXPECT_TRUE(web.WaitForType("ack"));
  EXPECT_TRUE(bob->WaitFor(MessageWithText("over websocket")));
}

TEST(FoundationConfigTest, BadConfigStopsStartUpNamingTheKey) {
  BrokerProcess broker(BrokerOptions{.extra_yaml = "limits:\n  max_message_chars: -5\n", .extra_mosquitto_conf = ""});
  std::string error = broker.Start();
  EXPECT_NE(error, "");
  EXPECT_NE(error.find("limits.max_message_chars"), std::string::npos) << error;
}

}  // namespace
}  // namespace chat::harness
