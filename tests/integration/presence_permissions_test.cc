// Who may see whose presence, through the real broker: strangers neither watch nor ask, small groups
// share live presence, large groups ask on entering, and joining alone exposes nothing.
#include <gtest/gtest.h>

#include "tests/integration/presence_fixture.h"

namespace chat::harness {
namespace {

TEST_F(PresenceTest, StrangersCannotWatchNorAsk) {
  auto alice = Device("alice", "phone");
  auto bob_setup = Device("bob", "setup");
  MakeContacts(*alice, *bob_setup);

  auto carol = Device("carol", "phone");
  EXPECT_FALSE(carol->Subscribe(PresenceTopic("alice")));
  auto carol_311 = Device("carol", "old-phone", /*version=*/4);
  carol_311->Subscribe(PresenceTopic("alice"));  // 3.1.1: SUBACK 0x80, and nothing delivered
  // Wildcards would reach everyone's presence: refused even for a user with contacts.
  EXPECT_FALSE(bob_setup->Subscribe("chat/v1/presence/+"));
  EXPECT_FALSE(bob_setup->Subscribe("chat/v1/presence/#"));
  // Nobody publishes presence but the server.
  EXPECT_EQ(carol->Publish(PresenceTopic("carol"), R"({"type":"presence","user":"carol","state":"online"})"), 0x87);

  auto reply = Request(*carol, "presence", {{"users", json::array({"alice", "carol"})}});
  ASSERT_EQ(Outcome(reply), "presence");
  ASSERT_EQ((*reply)["users"].size(), 1u) << reply->dump();  // alice left out, carol may see herself
  EXPECT_EQ((*reply)["users"][0]["user"], "carol");
  EXPECT_EQ((*reply)["users"][0]["state"], "online");

  LogOut(*alice);
  for (ChatTestClient* client : {carol.get(), carol_311.get()}) {
    auto leaked = client->WaitFor(AnyPresenceOf("alice"), milliseconds(700));
    EXPECT_FALSE(leaked) << leaked->payload;
  }
  // The contact may ask by name.
  reply = Request(*bob_setup, "presence", {{"users", json::array({"alice"})}});
  ASSERT_EQ(Outcome(reply), "presence");
  ASSERT_EQ((*reply)["users"].size(), 1u);
  EXPECT_EQ((*reply)["users"][0]["state"], "offline");
  EXPECT_GT((*reply)["users"][0]["last_active_at"].get<std::int64_t>(), 0);
}

TEST_F(PresenceTest, SmallGroupsShareLivePresenceLargeGroupsAskOnEntering) {
  auto dave = Device("dave", "phone");
  auto carol = Device("carol", "phone");
  auto frank = Device("frank", "phone");
  auto alice = Device("alice", "phone");
  auto erin = Device("erin", "phone");
  // Three members: at push_group_limit. Four: above it.
  std::string small_id = GroupWith(*dave, "small", {erin.get(), alice.get()});
  std::string big_id = GroupWith(*frank, "big", {carol.get(), dave.get(), erin.get()});
  // Everyone posts once, so this test does not depend on whether merely being a member counts (see
  // BeingAddedToAGroupExposesNoPresenceUntilTheMemberTakesPart); erin then leaves cleanly.
  for (auto [client, group] : std::vector<std::pair<ChatTestClient*, std::string>>{
           {dave.get(), small_id}, {alice.get(), small_id}, {erin.get(), small_id}, {frank.get(), big_id},
           {carol.get(), big_id}, {dave.get(), big_id}, {erin.get(), big_id}}) {
    EXPECT_EQ(Outcome(Request(*client, "send", {{"group", group}, {"text", "hi"}})), "ack") << client->user();
  }
  LogOut(*erin);

  EXPECT_TRUE(alice->Subscribe(PresenceTopic("dave")));
  EXPECT_TRUE(alice->Subscribe(PresenceTopic("erin")));
  auto dave_watch = Watcher("dave", "erin");
  EXPECT_FALSE(carol->Subscribe(PresenceTopic("frank")));  // co-members of the big group only
  EXPECT_FALSE(carol->Subscribe(PresenceTopic("dave")));
  EXPECT_FALSE(alice->Subscribe(PresenceTopic("frank")));  // no group in common
  auto dave_state = alice->WaitFor(AnyPresenceOf("dave"), seconds(5));
  ASSERT_TRUE(dave_state);
  EXPECT_EQ(dave_state->json["state"], "online");
  auto erin_state = dave_watch->WaitFor(AnyPresenceOf("erin"), seconds(5));  // retained
  ASSERT_TRUE(erin_state);
  EXPECT_EQ(erin_state->json["state"], "offline");
  EXPECT_TRUE(alice->WaitFor(PresenceIs("erin", "offline"), seconds(5)));  // the same retained state

  // Entering the big group: one request gives every member's state, whoever may watch whom.
  auto reply = Request(*carol, "presence", {{"group", big_id}});
  ASSERT_EQ(Outcome(reply), "presence");
  std::map<std::string, json> states;
  for (const json& user : (*reply)["users"]) states[user["user"]] = user;
  ASSERT_EQ(states.size(), 4u) << reply->dump();
  for (const char* user : {"frank", "carol", "dave"}) EXPECT_EQ(states[user]["state"], "online") << user;
  EXPECT_EQ(states["erin"]["state"], "offline");
  for (const char* user : {"frank", "carol", "dave", "erin"}) {
    EXPECT_GT(states[user]["last_active_at"].get<std::int64_t>(), 0) << user;
  }
  EXPECT_EQ(states["erin"]["last_active_at"], erin_state->json["last_active_at"]);
  // By name, carol sees only whom she may watch: herself.
  reply = Request(*carol, "presence", {{"users", json::array({"frank", "dave", "carol"})}});
  ASSERT_EQ(Outcome(reply), "presence");
  ASSERT_EQ((*reply)["users"].size(), 1u) << reply->dump();
  EXPECT_EQ((*reply)["users"][0]["user"], "carol");
  // Non-members cannot ask about a group.
  EXPECT_EQ(Outcome(Request(*alice, "presence", {{"group", big_id}})), "error:not_found");

  // Live updates for co-members of the small group.
  erin = Device("erin", "phone");
  EXPECT_TRUE(dave_watch->WaitFor(PresenceIs("erin", "online"), seconds(5)));
  EXPECT_TRUE(alice->WaitFor(PresenceIs("erin", "online"), seconds(5)));

  // Removed from the small group, erin shares only the big one with dave: no more watching.
  ASSERT_EQ(Outcome(Request(*dave, "group_remove", {{"group", small_id}, {"user", "erin"}})), "group");
  EXPECT_FALSE(dave->Subscribe(PresenceTopic("erin")));
  EXPECT_FALSE(alice->Subscribe(PresenceTopic("erin")));
  LogOut(*erin);
  for (ChatTestClient* client : {dave_watch.get(), alice.get()}) {
    auto leaked = client->WaitFor(AnyPresenceOf("erin"), milliseconds(1000));
    EXPECT_FALSE(leaked) << client->client_id() << ": an existing subscription outlived the relationship: "
                         << leaked->payload;
  }
  // dave's presence is still shared with alice (both still in the small group).
  LogOut(*dave_watch);
  LogOut(*dave);
  EXPECT_TRUE(alice->WaitFor(PresenceIs("dave", "offline"), seconds(5)));
}

// PROTOCOL.md: co-members of a small group may subscribe to each other's presence, and a group presence
// query answers every member's state; neither depends on a member having posted or read anything.
TEST_F(PresenceTest, BeingAddedToAGroupExposesNoPresenceUntilTheMemberTakesPart) {
  // Joining a group (accepting an invitation, or being added by a contact) must not by itself let the
  // group's members watch the new member.
  auto dave = Device("dave", "phone");
  auto frank = Device("frank", "phone");
  auto carol = Device("carol", "phone");
  auto erin = Device("erin", "phone");
  std::string small_id = GroupWith(*dave, "small", {erin.get()});
  std::string big_id = GroupWith(*frank, "big", {carol.get(), dave.get(), erin.get()});

  EXPECT_FALSE(dave->Subscribe(PresenceTopic("erin"))) << "erin only joined";
  EXPECT_TRUE(erin->Subscribe(PresenceTopic("dave"))) << "dave created the small group";
  auto reply = Request(*carol, "presence", {{"group", big_id}});
  ASSERT_EQ(Outcome(reply), "presence");
  std::vector<std::string> users;
  for (const json& user : (*reply)["users"]) users.push_back(user["user"]);
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"carol", "frank"})) << reply->dump();  // frank created it; carol is carol

  // Once erin posts in the small group, its co-members may watch her.
  ASSERT_EQ(Outcome(Request(*erin, "send", {{"group", small_id}, {"text", "hi"}})), "ack");
  EXPECT_TRUE(dave->Subscribe(PresenceTopic("erin")));
}

}  // namespace
}  // namespace chat::harness
