// The conversation list (inbox) through the real broker: order by newest message across 1:1 and group
// conversations, previews of the last message, unread counts, paging, and a read mark made on one
// device showing on the other.
#include <gtest/gtest.h>

#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

json Conversations(SyncingDevice& device, json request = json::object()) {
  auto reply = device.Request("conversations", std::move(request));
  EXPECT_TRUE(reply && reply->value("type", "") == "conversations") << (reply ? reply->dump() : "no reply");
  return reply ? *reply : json::object();
}

// "peer:<user>" or "group:<name>" for each entry, in the reply's order.
std::vector<std::string> Names(const json& list) {
  std::vector<std::string> names;
  for (const json& c : list) names.push_back(c.contains("group") ? "group:" + c.value("name", "") : "peer:" + c.value("peer", ""));
  return names;
}

const json& Entry(const json& list, const std::string& name) {
  static const json none;
  for (const json& c : list) {
    if (c.value("peer", "") == name || c.value("name", "") == name) return c;
  }
  return none;
}

TEST_F(GroupsSyncTest, TheInboxListsConversationsByTheirNewestMessageWithPreviews) {
  StartBroker({"alice", "bob", "carol", "dan", "erin"});
  auto devices = Devices({{"alice", "phone"}, {"alice", "laptop"}, {"bob"}, {"carol"}, {"dan"}, {"erin"}});
  auto& phone = *devices[0];
  auto& laptop = *devices[1];
  auto& bob = *devices[2];
  auto& carol = *devices[3];
  auto& dan = *devices[4];
  auto& erin = *devices[5];

  // Five conversations of Alice's, written in this order: bob, team (a group), carol, dan, club (a group
  // Erin made, where only Erin writes).
  std::string team = CreateGroup(phone, "team", {"bob", "carol"});
  std::string club = CreateGroup(erin, "club", {"alice", "dan"});
  ASSERT_FALSE(team.empty());
  ASSERT_FALSE(club.empty());
  ASSERT_EQ(Type(bob.Request("send", {{"to", "alice"}, {"text", "hi alice"}})), "ack");
  ASSERT_EQ(Type(carol.Request("send", GroupSend(team, "team news", "t-1"))), "ack");
  ASSERT_EQ(Type(phone.Request("send", {{"to", "carol"}, {"text", "hello carol"}})), "ack");
  // A long message: the preview is its first 200 characters and an ellipsis, whatever the script.
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "가";
  ASSERT_EQ(Type(dan.Request("send", {{"to", "alice"}, {"text", long_text}})), "ack");
  auto last = erin.Request("send", GroupSend(club, "club meets at 6", "c-1"));
  ASSERT_EQ(Type(last), "ack");

  json reply = Conversations(laptop);
  json list = reply["conversations"];
  EXPECT_EQ(Names(list), (std::vector<std::string>{"group:club", "peer:dan", "peer:carol", "group:team", "peer:bob"}))
      << list.dump();
  EXPECT_EQ(reply["more"], false);
  const json& club_entry = Entry(list, "club");
  EXPECT_EQ(club_entry["last"]["text"], "club meets at 6");
  EXPECT_EQ(club_entry["last"]["from"], "erin");
  EXPECT_EQ(club_entry["last"]["id"], (*last)["id"]);
  EXPECT_EQ(club_entry["last_id"], (*last)["id"]);
  EXPECT_EQ(club_entry["unread"], 1);
  const json& dan_entry = Entry(list, "dan");
  std::string preview = dan_entry["last"]["text"];
  std::string expected_preview;
  for (int i = 0; i < 200; ++i) expected_preview += "가";
  EXPECT_EQ(preview, expected_preview + "\u2026");
  EXPECT_EQ(Entry(list, "carol")["last"]["from"], "alice");
  EXPECT_EQ(Entry(list, "carol")["unread"], 0);  // her own message
  EXPECT_EQ(Entry(list, "team")["last"]["text"], "team news");
  EXPECT_TRUE(Entry(list, "team")["last"].contains("ts"));
  EXPECT_EQ(Entry(list, "bob")["unread"], 1);

  // Bob writes again: his conversation goes to the top, the rest keep their order.
  ASSERT_EQ(Type(bob.Request("send", {{"to", "alice"}, {"text", "are you there?"}})), "ack");
  list = Conversations(phone)["conversations"];
  EXPECT_EQ(Names(list), (std::vector<std::string>{"peer:bob", "group:club", "peer:dan", "peer:carol", "group:team"}));
  EXPECT_EQ(Entry(list, "bob")["last"]["text"], "are you there?");
  EXPECT_EQ(Entry(list, "bob")["unread"], 2);

  // The laptop marks Bob's conversation read: the phone's list shows it (the read event reached it
  // through the queue), and reading moves nothing in the order.
  std::string bobs_last = Entry(list, "bob")["last_id"];
  ASSERT_EQ(Type(laptop.Request("read", {{"peer", "bob"}, {"up_to", bobs_last}})), "ok");
  ASSERT_TRUE(phone.WaitForApplied([](const json& e) { return e.value("type", "") == "read"; }, 1));
  list = Conversations(phone)["conversations"];
  EXPECT_EQ(Entry(list, "bob")["unread"], 0);
  EXPECT_EQ(Entry(list, "bob")["read_up_to"], bobs_last);
  EXPECT_EQ(Names(list)[0], "peer:bob");

  // Paging: two at a time, each page continuing below the last one's cursor.
  std::vector<std::string> paged;
  json request = {{"limit", 2}};
  for (int page = 0; page < 5; ++page) {
    json r = Conversations(phone, request);
    for (const std::string& name : Names(r["conversations"])) paged.push_back(name);
    if (!r.value("more", false)) break;
    EXPECT_EQ(r["conversations"].size(), 2u);
    request["before"] = r["next_before"];
  }
  EXPECT_EQ(paged, Names(list));

  // Bob sees only his own conversations: with Alice and the team.
  EXPECT_EQ(Names(Conversations(bob)["conversations"]), (std::vector<std::string>{"peer:alice", "group:team"}));
  // A bad page size is refused.
  auto bad = phone.Request("conversations", {{"limit", 0}});
  EXPECT_EQ(Type(bad), "error");
}

}  // namespace
}  // namespace chat::harness
