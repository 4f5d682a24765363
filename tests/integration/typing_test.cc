// Typing indicators through the real broker: they reach the peer, are never stored, and are rate limited.
#include <gtest/gtest.h>

#include "tests/integration/presence_fixture.h"

namespace chat::harness {
namespace {

TEST_F(PresenceTest, TypingReachesThePeerAndIsNeverStored) {
  auto alice = Device("alice", "phone");
  auto alice_laptop = Device("alice", "laptop");
  auto bob = Device("bob", "phone");
  auto carol = Device("carol", "phone");
  // A persistent session of bob's, away while alice types: QoS 0 typing is not queued for it.
  ChatTestClient bob_tablet(broker_->mqtt_uri(), "bob", "tablet");
  ASSERT_EQ(bob_tablet.Connect(Password("bob"), /*clean=*/false), "");
  ASSERT_TRUE(bob_tablet.SubscribeOwn());
  bob_tablet.Disconnect();

  alice->Send("bob", "first", "t1");
  ASSERT_TRUE(alice->WaitForType("ack"));
  ASSERT_TRUE(bob->WaitFor([](const Received& r) { return r.json.value("text", "") == "first"; }));

  // A stranger's typing reaches nobody (issue 18 item 12): carol is no contact of bob's.
  EXPECT_EQ(carol->Publish("chat/v1/req/typing", R"({"to":"bob","rid":"t-stranger"})"), 0x87);
  auto refused = carol->WaitForType("error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "not_allowed");
  EXPECT_EQ((*refused)["rid"], "t-stranger");
  EXPECT_FALSE(bob->WaitFor(OfType("typing"), milliseconds(300)));

  // Typing follows presence: contacts see each other typing.
  MakeContacts(*alice, *bob);
  EXPECT_LT(alice->Publish("chat/v1/req/typing", R"({"to":"bob"})"), 0x80);
  auto typing = bob->WaitFor(OfType("typing"), seconds(5));
  ASSERT_TRUE(typing);
  EXPECT_EQ(typing->topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(typing->json, json({{"type", "typing"}, {"from", "alice"}, {"to", "bob"}}));
  EXPECT_FALSE(typing->json.contains("seq"));

  alice->Send("bob", "second", "t2");
  ASSERT_TRUE(alice->WaitForType("ack"));
  // No reply to a typing indicator, and alice's own devices do not see it.
  for (ChatTestClient* client : {alice.get(), alice_laptop.get()}) {
    for (const Received& r : client->Collect(milliseconds(500))) {
      EXPECT_NE(r.json.value("type", ""), "typing") << client->client_id() << ": " << r.payload;
      if (r.topic == "chat/v1/user/alice/reply") {
        EXPECT_EQ(r.json.value("type", ""), "ack") << r.payload;
      }
    }
  }

  // Not stored: sync holds the two messages and the two contact events only, with consecutive seqs.
  auto sync = Request(*bob, "sync", {{"after", 0}});
  ASSERT_EQ(Outcome(sync), "sync");
  ASSERT_EQ((*sync)["events"].size(), 4u) << sync->dump();
  std::vector<std::string> kinds;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*sync)["events"][i]["seq"], i + 1);
    kinds.push_back((*sync)["events"][i].value("text", (*sync)["events"][i].value("event", "")));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"first", "incoming", "added", "second"}));
  EXPECT_EQ((*sync)["last_seq"], 4);
  auto history = Request(*bob, "history", {{"peer", "alice"}});
  ASSERT_EQ(Outcome(history), "history");
  EXPECT_EQ((*history)["messages"].size(), 2u);

  // The tablet comes back: the two messages were queued for its session, the typing was not.
  ASSERT_EQ(bob_tablet.Connect(Password("bob"), /*clean=*/false), "");
  int messages = 0;
  for (const Received& r : bob_tablet.Collect(milliseconds(1000))) {
    EXPECT_NE(r.json.value("type", ""), "typing") << r.payload;
    if (r.json.value("type", "") == "message") ++messages;
  }
  EXPECT_EQ(messages, 2);

  // Groups: every other member, never the typist.
  // bob is alice's contact by now and is added; carol is invited and joins.
  auto group = Request(*alice, "group_create", {{"name", "typing"}, {"members", json::array({"bob", "carol"})}});
  ASSERT_EQ(Outcome(group), "group");
  EXPECT_EQ((*group)["invited"], json::array({"carol"}));
  std::string group_id = (*group)["group"];
  ASSERT_EQ(Outcome(Request(*carol, "group_join", {{"group", group_id}})), "group");
  EXPECT_LT(alice->Publish("chat/v1/req/typing", json({{"group", group_id}}).dump()), 0x80);
  for (ChatTestClient* client : {bob.get(), carol.get()}) {
    auto got = client->WaitFor(OfType("typing"), seconds(5));
    ASSERT_TRUE(got) << client->user();
    EXPECT_EQ(got->json, json({{"type", "typing"}, {"from", "alice"}, {"group", group_id}}));
  }
  EXPECT_FALSE(alice->WaitFor(OfType("typing"), milliseconds(300)));
  auto dave = Device("dave", "phone");
  EXPECT_EQ(Outcome(Request(*dave, "typing", {{"group", group_id}})), "error:not_found");
  EXPECT_EQ(Outcome(Request(*dave, "typing", {{"to", "ghost"}})), "error:unknown_peer");
  EXPECT_EQ(Outcome(Request(*dave, "typing", json::object())), "error:bad_request");
  // Group events are in the queue, typing is not.
  sync = Request(*carol, "sync", {{"after", 0}});
  ASSERT_EQ(Outcome(sync), "sync");
  for (const json& event : (*sync)["events"]) EXPECT_NE(event["type"], "typing");
}

TEST_F(PresenceTest, TypingIsRateLimited) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  MakeContacts(*alice, *bob);
  auto started = SteadyClock::now();
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 12; ++i) {
    int code = alice->Publish("chat/v1/req/typing", R"({"to":"bob","rid":"ty)" + std::to_string(i) + "\"}");
    if (code >= 0x80) {
      ++refused;
    } else {
      ++accepted;
    }
  }
  double elapsed = SecondsBetween(started, SteadyClock::now());
  Report("typing: 12 indicators sent in", elapsed);
  // Bursts of 5 at 2/s: the first 5 pass, then roughly one per half second of the loop.
  EXPECT_GE(accepted, 5);
  EXPECT_LE(accepted, 5 + static_cast<int>(2 * elapsed) + 1);
  EXPECT_GE(refused, 1);
  auto error = alice->WaitForType("error", seconds(5));
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "rate_limited");
  EXPECT_EQ((*error)["op"], "typing");
  int delivered = 0;
  for (const Received& r : bob->Collect(milliseconds(700))) delivered += r.json.value("type", "") == "typing";
  EXPECT_EQ(delivered, accepted);

  // The bucket refills at 2/s.
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_LT(alice->Publish("chat/v1/req/typing", R"({"to":"bob"})"), 0x80);
  EXPECT_TRUE(bob->WaitFor(OfType("typing"), seconds(5)));
}

}  // namespace
}  // namespace chat::harness
