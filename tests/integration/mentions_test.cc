// Mentions through the real broker: "@name" flags the message for that member live and after sync and
// lists it in their mentions only; "@all" is the owner's; an edit that takes the name out takes the
// mention away.
#include <gtest/gtest.h>

#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

std::vector<std::string> MentionTexts(SyncingDevice& device) {
  auto reply = device.Request("mentions", json::object());
  EXPECT_TRUE(reply && reply->value("type", "") == "mentions") << (reply ? reply->dump() : "no reply");
  std::vector<std::string> texts;
  if (!reply) return texts;
  for (const json& m : (*reply)["messages"]) texts.push_back(m.value("text", ""));
  return texts;
}

// The last applied message event with this text.
json EventWithText(const SyncingDevice& device, const std::string& text) {
  json found;
  for (const AppliedEvent& e : device.applied()) {
    if (e.event.value("type", "") == "message" && e.event.value("text", "") == text) found = e.event;
  }
  return found;
}

using Texts = std::vector<std::string>;

TEST_F(GroupsSyncTest, MentionsFlagTheMessageForTheNamedMemberAndListItForThemOnly) {
  StartBroker({"carol", "alice", "bob", "dave"});
  auto devices = Devices({{"carol"}, {"alice"}, {"bob", "phone"}, {"dave"}});
  auto& carol = *devices[0];
  auto& alice = *devices[1];
  auto& bob = *devices[2];
  auto& dave = *devices[3];
  std::string g = CreateGroup(carol, "team", {"alice", "bob", "dave"});
  ASSERT_FALSE(g.empty());

  const std::string to_bob = "hi @bob and @nobody, see you at 5.";
  auto ack = alice.Request("send", GroupSend(g, to_bob, "a-1"));
  ASSERT_EQ(Type(ack), "ack");
  std::string to_bob_id = (*ack)["id"];
  auto is_text = [](const std::string& text) { return [text](const json& e) { return e.value("text", "") == text; }; };
  ASSERT_TRUE(bob.WaitForApplied(is_text(to_bob), 1));
  ASSERT_TRUE(dave.WaitForApplied(is_text(to_bob), 1));
  json bobs = EventWithText(bob, to_bob);
  EXPECT_EQ(bobs["mentioned"], true) << bobs.dump();
  EXPECT_EQ(bobs["mentions"], json::array({"bob"}));
  json daves = EventWithText(dave, to_bob);
  EXPECT_FALSE(daves.contains("mentioned")) << daves.dump();
  EXPECT_EQ(daves["mentions"], json::array({"bob"}));

  // "@all" is the owner's.
  auto refused = alice.Request("send", GroupSend(g, "@all listen", "a-2"));
  EXPECT_EQ(refused->value("code", ""), "not_allowed") << refused->dump();
  const std::string to_all = "@all meeting now";
  ASSERT_EQ(Type(carol.Request("send", GroupSend(g, to_all, "c-1"))), "ack");
  for (SyncingDevice* member : {&alice, &bob, &dave}) {
    ASSERT_TRUE(member->WaitForApplied(is_text(to_all), 1)) << member->user();
    json event = EventWithText(*member, to_all);
    EXPECT_EQ(event["mentioned"], true) << member->user();
    EXPECT_EQ(event["mentions_all"], true) << member->user();
  }

  // The lists: newest first, each member's own.
  EXPECT_EQ(MentionTexts(bob), (Texts{to_all, to_bob}));
  EXPECT_EQ(MentionTexts(dave), (Texts{to_all}));
  EXPECT_EQ(MentionTexts(alice), (Texts{to_all}));
  EXPECT_EQ(MentionTexts(carol), Texts{});

  // A device syncing later sees the same flags.
  SyncingDevice tablet(broker_->mqtt_uri(), "bob", "tablet", Password("bob"));
  ASSERT_EQ(tablet.Connect(), "");
  EXPECT_EQ(EventWithText(tablet, to_bob)["mentioned"], true);
  EXPECT_EQ(EventWithText(tablet, to_all)["mentioned"], true);

  // Alice takes Bob's name out: no longer his mention; she puts Dave's in: his now.
  ASSERT_EQ(Type(alice.Request("edit", {{"group", g}, {"id", to_bob_id}, {"text", "hi @dave, see you at 5."}})), "ok");
  EXPECT_EQ(MentionTexts(bob), (Texts{to_all}));
  EXPECT_EQ(MentionTexts(dave), (Texts{to_all, "hi @dave, see you at 5."}));
  // Deleted, it is nobody's mention.
  ASSERT_EQ(Type(alice.Request("delete", {{"group", g}, {"id", to_bob_id}})), "ok");
  EXPECT_EQ(MentionTexts(dave), (Texts{to_all}));

  // Paging.
  auto first = bob.Request("mentions", {{"limit", 1}});
  ASSERT_EQ((*first)["messages"].size(), 1u);
  EXPECT_EQ((*first)["more"], false);  // only one left after the edit
}

}  // namespace
}  // namespace chat::harness
