// Contacts through the real broker: request, accept, remove, and the events each step sends.
#include <gtest/gtest.h>

#include "tests/integration/presence_fixture.h"

namespace chat::harness {
namespace {

TEST_F(PresenceTest, ContactRequestAcceptRemoveAndTheirEvents) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  auto carol = Device("carol", "phone");

  EXPECT_EQ(Outcome(Request(*alice, "contact_request", {{"user", "alice"}})), "error:bad_request");
  EXPECT_EQ(Outcome(Request(*alice, "contact_request", {{"user", "ghost"}})), "error:unknown_peer");
  EXPECT_EQ(Outcome(Request(*alice, "contact_request", json::object())), "error:bad_request");
  EXPECT_EQ(Outcome(Request(*alice, "contact_accept", {{"user", "bob"}})), "error:not_found");  // nothing to accept

  // Collects the live contact events each user's device receives, to compare with sync afterwards.
  std::map<std::string, std::vector<json>> live;
  auto expect_event = [&](ChatTestClient& client, const std::string& event, const std::string& other) {
    auto got = client.WaitFor(OfType("contact"), seconds(5));
    ASSERT_TRUE(got) << client.user() << ": no contact event " << event << " " << other;
    EXPECT_EQ(got->topic, "chat/v1/user/" + client.user() + "/msg");
    EXPECT_EQ(got->json["event"], event) << got->payload;
    EXPECT_EQ(got->json["user"], other) << got->payload;
    EXPECT_TRUE(got->json.contains("seq")) << got->payload;
    EXPECT_TRUE(got->json.contains("ts")) << got->payload;
    live[client.user()].push_back(got->json);
  };
  auto contacts_of = [&](ChatTestClient& client) {
    auto reply = Request(client, "contacts", json::object());
    std::map<std::string, std::string> out;
    if (Outcome(reply) != "contacts") {
      ADD_FAILURE() << "contacts: " << Outcome(reply);
      return out;
    }
    for (const json& c : (*reply)["contacts"]) out[c["user"]] = c["state"];
    return out;
  };
  using States = std::map<std::string, std::string>;

  // 1. alice asks bob.
  auto reply = Request(*alice, "contact_request", {{"user", "bob"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_request");
  expect_event(*alice, "outgoing", "bob");
  expect_event(*bob, "incoming", "alice");
  EXPECT_EQ(contacts_of(*alice), (States{{"bob", "outgoing"}}));
  EXPECT_EQ(contacts_of(*bob), (States{{"alice", "incoming"}}));
  EXPECT_FALSE(bob->Subscribe(PresenceTopic("alice")));  // a request is not yet a contact
  EXPECT_FALSE(alice->Subscribe(PresenceTopic("bob")));
  // Asking again changes nothing.
  EXPECT_EQ(Outcome(Request(*alice, "contact_request", {{"user", "bob"}})), "ok");
  EXPECT_FALSE(alice->WaitFor(OfType("contact"), milliseconds(300)));

  // 2. bob accepts: contacts, and each may watch the other.
  reply = Request(*bob, "contact_accept", {{"user", "alice"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_accept");
  expect_event(*alice, "added", "bob");
  expect_event(*bob, "added", "alice");
  EXPECT_EQ(contacts_of(*alice), (States{{"bob", "contact"}}));
  EXPECT_EQ(contacts_of(*bob), (States{{"alice", "contact"}}));
  auto bob_watch = Watcher("bob", "alice");
  EXPECT_TRUE(bob_watch->WaitFor(PresenceIs("alice", "online"), seconds(5)));
  EXPECT_TRUE(alice->Subscribe(PresenceTopic("bob")));

  // 3-4. carol asks alice; alice asking carol back is an acceptance.
  EXPECT_EQ(Outcome(Request(*carol, "contact_request", {{"user", "alice"}})), "ok");
  expect_event(*carol, "outgoing", "alice");
  expect_event(*alice, "incoming", "carol");
  reply = Request(*alice, "contact_request", {{"user", "carol"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_request") << "PROTOCOL.md: each request answers ok with its own op";
  expect_event(*alice, "added", "carol");
  expect_event(*carol, "added", "alice");
  auto carol_watch = Watcher("carol", "alice");
  EXPECT_TRUE(carol_watch->WaitFor(PresenceIs("alice", "online"), seconds(5)));

  // 5-6. carol asks bob; bob declines.
  EXPECT_EQ(Outcome(Request(*carol, "contact_request", {{"user", "bob"}})), "ok");
  expect_event(*carol, "outgoing", "bob");
  expect_event(*bob, "incoming", "carol");
  reply = Request(*bob, "contact_remove", {{"user", "carol"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_remove");
  expect_event(*bob, "removed", "carol");
  expect_event(*carol, "removed", "bob");
  EXPECT_EQ(contacts_of(*bob), (States{{"alice", "contact"}}));
  EXPECT_EQ(contacts_of(*carol), (States{{"alice", "contact"}}));

  // 7. alice ends the contact with bob: bob can no longer watch, not even through his old subscription.
  EXPECT_EQ(Outcome(Request(*alice, "contact_remove", {{"user", "bob"}})), "ok");
  expect_event(*alice, "removed", "bob");
  expect_event(*bob, "removed", "alice");
  EXPECT_EQ(contacts_of(*alice), (States{{"carol", "contact"}}));
  EXPECT_EQ(contacts_of(*bob), States{});
  EXPECT_FALSE(bob->Subscribe(PresenceTopic("alice")));
  EXPECT_EQ(Outcome(Request(*alice, "contact_remove", {{"user", "bob"}})), "error:not_found");
  LogOut(*alice);
  EXPECT_TRUE(carol_watch->WaitFor(PresenceIs("alice", "offline"), seconds(5)));  // still a contact
  auto leaked = bob_watch->WaitFor(AnyPresenceOf("alice"), milliseconds(700));
  EXPECT_FALSE(leaked) << "an old subscription outlived the contact: " << leaked->payload;

  // The sync queue holds exactly the live events, in seq order.
  alice = Device("alice", "phone");
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> expected = {
      {"alice", {{"outgoing", "bob"}, {"added", "bob"}, {"incoming", "carol"}, {"added", "carol"}, {"removed", "bob"}}},
      {"bob",
       {{"incoming", "alice"}, {"added", "alice"}, {"incoming", "carol"}, {"removed", "carol"}, {"removed", "alice"}}},
      {"carol", {{"outgoing", "alice"}, {"added", "alice"}, {"outgoing", "bob"}, {"removed", "bob"}}}};
  for (ChatTestClient* client : {alice.get(), bob.get(), carol.get()}) {
    auto sync = Request(*client, "sync", {{"after", 0}});
    ASSERT_EQ(Outcome(sync), "sync") << client->user();
    std::vector<std::pair<std::string, std::string>> got;
    std::int64_t seq = 0;
    for (const json& event : (*sync)["events"]) {
      EXPECT_EQ(event["type"], "contact") << event.dump();
      EXPECT_EQ(event["seq"], ++seq) << event.dump();
      got.emplace_back(event.value("event", ""), event.value("user", ""));
    }
    EXPECT_EQ(got, expected[client->user()]) << client->user();
    EXPECT_EQ((*sync)["last_seq"], seq);
    EXPECT_EQ((*sync)["events"], json(live[client->user()])) << client->user() << ": sync differs from live";
  }
}

}  // namespace
}  // namespace chat::harness
