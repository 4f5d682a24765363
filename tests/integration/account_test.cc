// Accounts and consent through the real broker: who may put whom into a group, and what deleting an
// account leaves behind (nothing a re-created name can reach).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "clients/common/raw_mqtt_client.h"
#include "tests/integration/broker_fixture.h"

namespace chat::harness {
namespace {

using clients::ConnectOutcome;
using clients::RawMqttClient;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class AccountTest : public BrokerFixture {
 protected:
  // `extra_limits`: more lines under "limits:"; `extra_yaml`: other sections.
  void StartBroker(const std::vector<std::string>& users, const std::string& extra_limits = "",
                   const std::string& extra_yaml = "") {
    BrokerFixture::StartBroker(
        users, "limits:\n  request_rate_per_second: 100000\n  request_burst: 100000\n" + extra_limits + extra_yaml, {},
        {"root"});
  }
};

// Issue 18 item 7: a stranger made 500 groups containing alice, who then could neither create nor be
// added to groups, and got 500 events in her sync queue.
TEST_F(AccountTest, AStrangerCannotPutSomeoneIntoGroupsOnlyInviteThemOnce) {
  StartBroker({"alice", "mallory", "carol"}, "  max_groups_per_user: 5\n");
  auto alice = Device("alice", "phone");
  auto mallory = Device("mallory", "phone");
  auto carol = Device("carol", "phone");
  MakeContacts(*alice, *carol);
  int refused = 0;
  for (int i = 0; i < 50; ++i) {
    auto reply = Request(*mallory, "group_create", {{"name", "spam" + std::to_string(i)}, {"members", {"alice"}}});
    ASSERT_TRUE(reply);
    if ((*reply)["type"] == "error") {
      EXPECT_EQ((*reply)["code"], "not_allowed") << reply->dump();
      ++refused;
    } else if (i == 0) {
      EXPECT_EQ((*reply)["members"], json({"mallory"}));
      EXPECT_EQ((*reply)["invited"], json({"alice"}));
    }
  }
  EXPECT_GE(refused, 45);  // mallory's own group cap (5) and one unanswered invitation stop mallory
  // alice is in no group, her queue holds the contact events and one invitation, and she can still
  // create groups and be added by her contact.
  auto sync = Request(*alice, "sync", {{"after", 0}, {"limit", 500}});
  ASSERT_TRUE(sync);
  int invitations = 0;
  for (const json& event : (*sync)["events"]) invitations += event.value("event", "") == "invited";
  EXPECT_EQ(invitations, 1) << sync->dump();
  EXPECT_LE((*sync)["events"].size(), 3u) << sync->dump();
  auto groups = Request(*alice, "groups", json::object());
  EXPECT_TRUE((*groups)["groups"].empty());
  ASSERT_EQ((*groups)["invites"].size(), 1u);
  EXPECT_EQ((*Request(*alice, "group_create", {{"name", "mine"}}))["type"], "group");
  auto added = Request(*carol, "group_create", {{"name", "friends"}, {"members", {"alice"}}});
  EXPECT_EQ((*added)["members"], json({"alice", "carol"}));  // a contact adds at once
  // The invitation is alice's to answer.
  std::string spam = (*groups)["invites"][0]["group"];
  EXPECT_EQ((*Request(*alice, "group_decline", {{"group", spam}}))["type"], "ok");
  EXPECT_EQ((*Request(*alice, "history", {{"group", spam}}))["code"], "not_found");
}

// Issue 18 item 8: after deleteUser Z and addUser Z, the new Z read the old Z's 1:1 and group history,
// sync queue and conversations, and a push job still went to the old Z's device token.
TEST_F(AccountTest, ARecreatedAccountStartsEmptyAndReachesNothingOfItsPredecessor) {
  StartBroker({"zed", "yara"});
  auto zed = Device("zed", "phone");
  auto yara = Device("yara", "phone");
  MakeContacts(*zed, *yara);
  ASSERT_LT(zed->Send("yara", "old secret from zed", "z-1"), 0x80);
  ASSERT_TRUE(zed->WaitForType("ack"));
  ASSERT_LT(yara->Send("zed", "old secret to zed", "y-1"), 0x80);
  auto group = Request(*yara, "group_create", {{"name", "old team"}, {"members", {"zed"}}});
  std::string group_id = (*group)["group"];
  ASSERT_LT(yara->Publish("chat/v1/req/send", json{{"group", group_id}, {"text", "old group secret"}}.dump()), 0x80);
  ASSERT_EQ((*Request(*zed, "push_register", {{"provider", "webhook"}, {"token", "old-zed-token"}}))["type"], "ok");
  // A persistent session of the old zed, away.
  RawMqttClient away;
  ASSERT_EQ(away.Connect(broker_->mqtt_port(), "zed:tablet", "zed", "pw-zed", /*clean=*/false).kind,
            ConnectOutcome::Kind::kAccepted);
  ASSERT_EQ(away.Subscribe("chat/v1/user/zed/#"), 1);
  away.Disconnect();

  EXPECT_FALSE(Admin({{"command", "deleteUser"}, {"username", "zed"}}).contains("error"));
  EXPECT_FALSE(Admin({{"command", "addUser"}, {"username", "zed"}, {"password", "new-pw"}}).contains("error"));
  std::this_thread::sleep_for(milliseconds(500));  // the old tablet's session is ended by then

  auto fresh = Device("zed", "laptop", "new-pw");
  auto history = Request(*fresh, "history", {{"peer", "yara"}});
  EXPECT_TRUE((*history)["messages"].empty()) << history->dump();
  EXPECT_EQ((*Request(*fresh, "history", {{"group", group_id}}))["code"], "not_found");
  auto conversations = Request(*fresh, "conversations", json::object());
  EXPECT_TRUE((*conversations)["conversations"].empty()) << conversations->dump();
  auto sync = Request(*fresh, "sync", {{"after", 0}});
  EXPECT_TRUE((*sync)["events"].empty()) << sync->dump();
  EXPECT_TRUE((*Request(*fresh, "contacts", json::object()))["contacts"].empty());
  auto groups = Request(*fresh, "groups", json::object());
  EXPECT_TRUE((*groups)["groups"].empty());
  EXPECT_TRUE((*groups)["invites"].empty());
  // An old cmid is a new message for the new account, not a "duplicate" of the old one's.
  ASSERT_LT(fresh->Send("yara", "hello again", "z-1"), 0x80);
  auto ack = fresh->WaitForType("ack");
  ASSERT_TRUE(ack);
  EXPECT_FALSE(ack->contains("duplicate"));
  history = Request(*fresh, "history", {{"peer", "yara"}});
  ASSERT_EQ((*history)["messages"].size(), 1u) << history->dump();
  EXPECT_EQ((*history)["messages"][0]["text"], "hello again");
  // The old zed's persistent session is gone with the account.
  RawMqttClient tablet;
  ConnectOutcome resumed = tablet.Connect(broker_->mqtt_port(), "zed:tablet", "zed", "new-pw", /*clean=*/false);
  ASSERT_EQ(resumed.kind, ConnectOutcome::Kind::kAccepted);
  EXPECT_FALSE(resumed.session_present);
  tablet.Disconnect();
  // yara keeps her own history; the group lost its member; no presence of zed is shared any more.
  auto hers = Request(*yara, "history", {{"peer", "zed"}});
  EXPECT_EQ((*hers)["messages"].size(), 3u) << hers->dump();
  auto members = Request(*yara, "group_members", {{"group", group_id}});
  EXPECT_EQ((*members)["members"], json({"yara"}));
  EXPECT_FALSE(yara->Subscribe("chat/v1/presence/zed"));
}

// The push half of item 8: a message to the re-created name makes no job for the old device token.
TEST_F(AccountTest, APredecessorsPushTokenGetsNothing) {
  StartBroker({"zed", "yara"}, "", "push:\n  service_accounts: [bridge]\n  collapse_seconds: 0\n");
  ASSERT_EQ(Admin({{"command", "addUser"}, {"username", "bridge"}, {"password", "pw-bridge"}}).contains("error"), false);
  {
    auto zed = Device("zed", "phone");
    ASSERT_EQ((*Request(*zed, "push_register", {{"provider", "webhook"}, {"token", "old-zed-token"}}))["type"], "ok");
  }
  auto bridge = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "bridge", "jobs");
  ASSERT_EQ(bridge->Connect("pw-bridge"), "");
  ASSERT_TRUE(bridge->Subscribe("chat/v1/service/push/jobs"));
  auto yara = Device("yara", "phone");
  ASSERT_LT(yara->Send("zed", "before", "b-1"), 0x80);
  auto job = bridge->WaitFor([](const Received& r) { return r.topic == "chat/v1/service/push/jobs"; }, seconds(5));
  ASSERT_TRUE(job) << "the old account's token got no job at all: the test would prove nothing";
  EXPECT_FALSE(Admin({{"command", "deleteUser"}, {"username", "zed"}}).contains("error"));
  EXPECT_FALSE(Admin({{"command", "addUser"}, {"username", "zed"}, {"password", "new-pw"}}).contains("error"));
  ASSERT_LT(yara->Send("zed", "after", "a-1"), 0x80);
  for (const Received& r : bridge->Collect(milliseconds(1500))) {
    if (r.topic != "chat/v1/service/push/jobs") continue;
    EXPECT_EQ(r.payload.find("old-zed-token"), std::string::npos) << r.payload;
    EXPECT_EQ(r.payload.find("after"), std::string::npos) << r.payload;
  }
}

// Issue 14 item 2: a device that holds a resume token logs in without a password check, also right
// after a restart (nothing cached), and only until the token is replaced, revoked or the password changes.
TEST_F(AccountTest, AResumeTokenLogsItsDeviceBackInWithoutHashingUntilItEnds) {
  // Password checks never on the broker thread, so a password login is always "come again" first, and
  // a token login admitted at once shows that no hash was needed.
  BrokerFixture::StartBroker({"alice", "bob"}, "",
                             {{"inline_hash_rounds_per_second", "0"}, {"max_resume_tokens_per_user", "2"}}, {"root"});
  auto phone = Device("alice", "phone");
  auto issued = Request(*phone, "resume_token", json::object());
  ASSERT_TRUE(issued);
  ASSERT_EQ(issued->value("type", ""), "resume_token") << issued->dump();
  std::string token = (*issued)["token"];
  EXPECT_EQ(token.rfind("rt1_", 0), 0u);
  auto now_ms = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(static_cast<double>((*issued)["expires"].get<std::int64_t>() - now_ms), 30.0 * 86400000, 60000.0);
  phone.reset();

  broker_->Stop();
  ASSERT_EQ(broker_->Start(), "");
  auto first_try = [&](const std::string& device, const std::string& password) {
    RawMqttClient client;
    ConnectOutcome outcome = client.Connect(broker_->mqtt_port(), "alice:" + device, "alice", password);
    client.Disconnect();
    return outcome;
  };
  ConnectOutcome resumed = first_try("phone", token);
  EXPECT_EQ(resumed.kind, ConnectOutcome::Kind::kAccepted) << "code " << resumed.code;
  EXPECT_EQ(first_try("phone", "pw-alice").kind, ConnectOutcome::Kind::kClosed) << "a password needs its hash first";
  EXPECT_EQ(first_try("laptop", token).kind, ConnectOutcome::Kind::kRefused) << "a token belongs to its device";
  {
    RawMqttClient bob;
    EXPECT_EQ(bob.Connect(broker_->mqtt_port(), "bob:phone", "bob", token).kind, ConnectOutcome::Kind::kRefused);
  }

  // MQTT 5 alike; a new token for the device ends its previous one.
  phone = Device("alice", "phone", token);
  ASSERT_TRUE(phone->connected());
  std::string second = (*Request(*phone, "resume_token", json::object()))["token"];
  EXPECT_NE(second, token);
  EXPECT_EQ(first_try("phone", token).kind, ConnectOutcome::Kind::kRefused);
  EXPECT_EQ(first_try("phone", second).kind, ConnectOutcome::Kind::kAccepted);

  // Two tokens at most (this server's setting): a third device's ends the oldest.
  auto laptop = Device("alice", "laptop");
  std::string laptop_token = (*Request(*laptop, "resume_token", json::object()))["token"];
  auto tablet = Device("alice", "tablet");
  std::string tablet_token = (*Request(*tablet, "resume_token", json::object()))["token"];
  EXPECT_EQ(first_try("phone", second).kind, ConnectOutcome::Kind::kRefused) << "the oldest went";
  EXPECT_EQ(first_try("laptop", laptop_token).kind, ConnectOutcome::Kind::kAccepted);
  EXPECT_EQ(first_try("tablet", tablet_token).kind, ConnectOutcome::Kind::kAccepted);

  // The operator revokes them: the devices on a token are disconnected and cannot come back on it.
  auto on_token = Device("alice", "tablet", tablet_token);
  ASSERT_TRUE(on_token->connected());
  EXPECT_FALSE(Admin({{"command", "revokeResumeTokens"}, {"username", "alice"}}).contains("error"));
  for (int i = 0; i < 100 && on_token->connected(); ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(on_token->connected());
  EXPECT_EQ(first_try("tablet", tablet_token).kind, ConnectOutcome::Kind::kRefused);
  EXPECT_EQ(first_try("laptop", laptop_token).kind, ConnectOutcome::Kind::kRefused);
  EXPECT_TRUE(Admin({{"command", "revokeResumeTokens"}, {"username", "ghost"}}).contains("error"));

  // A password change ends them too.
  laptop = Device("alice", "laptop");
  laptop_token = (*Request(*laptop, "resume_token", json::object()))["token"];
  EXPECT_EQ(first_try("laptop", laptop_token).kind, ConnectOutcome::Kind::kAccepted);
  EXPECT_FALSE(Admin({{"command", "setPassword"}, {"username", "alice"}, {"password", "pw-new"}}).contains("error"));
  EXPECT_EQ(first_try("laptop", laptop_token).kind, ConnectOutcome::Kind::kRefused);
  // And no password may look like a token.
  EXPECT_TRUE(Admin({{"command", "setPassword"}, {"username", "bob"}, {"password", tablet_token}}).contains("error"));
}

}  // namespace
}  // namespace chat::harness
