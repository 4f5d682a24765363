// Search through the real broker: matching across case, accents, Korean without spaces and prefixes;
// only what the user may read (their conversations, their groups while they are members); filters by
// conversation, sender and time; paging; edits and deletions reaching the index.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

std::vector<std::string> HitTexts(const std::optional<json>& reply) {
  std::vector<std::string> texts;
  EXPECT_TRUE(reply && reply->value("type", "") == "search") << (reply ? reply->dump() : "no reply");
  if (!reply || !reply->contains("hits")) return texts;
  for (const json& hit : (*reply)["hits"]) texts.push_back(hit.value("text", "(no text)"));
  return texts;
}

using Texts = std::vector<std::string>;

TEST_F(GroupsSyncTest, SearchFindsWordsAcrossCaseAccentsScriptsAndPrefixesInWhatTheUserMayRead) {
  StartBroker({"alice", "bob", "carol", "dave"});
  auto devices = Devices({{"alice"}, {"bob"}, {"carol"}, {"dave"}});
  auto& alice = *devices[0];
  auto& bob = *devices[1];
  auto& carol = *devices[2];
  auto& dave = *devices[3];
  auto send = [](SyncingDevice& from, json request) {
    auto ack = from.Request("send", std::move(request));
    EXPECT_EQ(Type(ack), "ack") << (ack ? ack->dump() : "");
    return ack ? ack->value("id", "") : "";
  };
  auto search = [](SyncingDevice& who, json request) { return HitTexts(who.Request("search", std::move(request))); };

  send(alice, {{"to", "bob"}, {"text", "Let's meet at the Café tomorrow"}});
  send(bob, {{"to", "alice"}, {"text", "내일오후에회의가있습니다"}});
  send(carol, {{"to", "alice"}, {"text", "the cafe on the corner is closed"}});

  // Case and accents fold either way; a word is found inside a Korean sentence without spaces.
  EXPECT_EQ(search(bob, {{"q", "CAFE "}}), (Texts{"Let's meet at the Café tomorrow"}));
  EXPECT_EQ(search(bob, {{"q", "café"}}), (Texts{"Let's meet at the Café tomorrow"}));
  EXPECT_EQ(search(alice, {{"q", "회의"}}), (Texts{"내일오후에회의가있습니다"}));
  // The last word as a prefix while it is typed.
  EXPECT_EQ(search(alice, {{"q", "meet tomor"}}), (Texts{"Let's meet at the Café tomorrow"}));
  // Alice finds both cafés, newest first; Bob only his; Dave, in neither conversation, nothing.
  EXPECT_EQ(search(alice, {{"q", "cafe"}}), (Texts{"the cafe on the corner is closed", "Let's meet at the Café tomorrow"}));
  EXPECT_EQ(search(dave, {{"q", "cafe"}}), Texts{});
  // Filters: one conversation, one sender.
  EXPECT_EQ(search(alice, {{"q", "cafe"}, {"peer", "bob"}}), (Texts{"Let's meet at the Café tomorrow"}));
  EXPECT_EQ(search(alice, {{"q", "cafe"}, {"from", "carol"}}), (Texts{"the cafe on the corner is closed"}));
  EXPECT_EQ(search(alice, {{"q", "cafe"}, {"from", "alice"}}), (Texts{"Let's meet at the Café tomorrow"}));
  // Naming someone else's conversation finds nothing of it.
  EXPECT_EQ(search(dave, {{"q", "cafe"}, {"peer", "alice"}}), Texts{});

  // Groups: what was written while the user was a member, and nothing once they left.
  std::string g = CreateGroup(alice, "bakers", {"bob"});
  send(alice, GroupSend(g, "apple pie first", "g-1"));
  ASSERT_EQ(Type(alice.Request("group_add", {{"group", g}, {"users", {"dave"}}})), "group");
  ASSERT_TRUE(dave.WaitForApplied([](const json& e) { return e.value("type", "") == "group"; }, 1));
  // Search leaves the join's millisecond out (a message just before the join may share it): the next
  // message comes in a later one.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  send(bob, GroupSend(g, "apple tart next", "g-2"));
  EXPECT_EQ(search(dave, {{"q", "apple"}}), (Texts{"apple tart next"}));
  EXPECT_EQ(search(dave, {{"q", "apple"}, {"group", g}}), (Texts{"apple tart next"}));
  EXPECT_EQ(search(bob, {{"q", "apple"}}), (Texts{"apple tart next", "apple pie first"}));
  ASSERT_EQ(Type(dave.Request("group_leave", {{"group", g}})), "ok");
  send(alice, GroupSend(g, "apple crumble after", "g-3"));
  EXPECT_EQ(search(dave, {{"q", "apple"}}), Texts{});
  auto outsider = dave.Request("search", {{"q", "apple"}, {"group", g}});
  EXPECT_EQ(outsider->value("code", ""), "not_found") << outsider->dump();

  // An edit changes what is found; a deleted message is found by nothing.
  std::string id = send(carol, {{"to", "alice"}, {"text", "the password is swordfish"}});
  EXPECT_EQ(search(alice, {{"q", "swordfish"}}), (Texts{"the password is swordfish"}));
  ASSERT_EQ(Type(carol.Request("edit", {{"peer", "alice"}, {"id", id}, {"text", "the password is hidden"}})), "ok");
  EXPECT_EQ(search(alice, {{"q", "swordfish"}}), Texts{});
  EXPECT_EQ(search(alice, {{"q", "hidden"}}), (Texts{"the password is hidden"}));
  ASSERT_EQ(Type(carol.Request("delete", {{"peer", "alice"}, {"id", id}})), "ok");
  EXPECT_EQ(search(alice, {{"q", "password"}}), Texts{});
  EXPECT_EQ(search(carol, {{"q", "hid"}}), Texts{});

  // Bad queries say why.
  EXPECT_EQ(alice.Request("search", {{"q", "?!"}})->value("code", ""), "bad_request");
  EXPECT_EQ(alice.Request("search", json::object())->value("code", ""), "bad_request");
  EXPECT_EQ(alice.Request("search", {{"q", std::string(300, 'x')}})->value("code", ""), "too_long");
}

TEST_F(GroupsSyncTest, SearchPagesAndTimeRangesFollowMessageIds) {
  StartBroker({"alice", "bob"});
  auto devices = Devices({{"alice"}, {"bob"}});
  auto& alice = *devices[0];
  std::vector<std::int64_t> sent_at;
  for (int i = 0; i < 25; ++i) {
    auto ack = alice.Request("send", {{"to", "bob"}, {"text", "report number " + std::to_string(i)}});
    ASSERT_EQ(Type(ack), "ack");
    sent_at.push_back((*ack)["ts"]);
    if (i == 9 || i == 19) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // distinct times at the edges
  }
  std::vector<std::string> all;
  json request = {{"q", "report"}, {"limit", 10}};
  std::vector<std::size_t> sizes;
  for (int page = 0; page < 5; ++page) {
    auto reply = alice.Request("search", request);
    std::vector<std::string> texts = HitTexts(reply);
    sizes.push_back(texts.size());
    all.insert(all.end(), texts.begin(), texts.end());
    if (!reply->value("more", false)) break;
    request["before"] = (*reply)["next_before"];
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
  ASSERT_EQ(all.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(all[i], "report number " + std::to_string(24 - i));

  // after_ts / before_ts: messages 10..19 were sent in [sent_at[10], sent_at[20]).
  auto ranged = alice.Request("search", {{"q", "report"}, {"after_ts", sent_at[10]}, {"before_ts", sent_at[20]}, {"limit", 50}});
  std::vector<std::string> texts = HitTexts(ranged);
  ASSERT_EQ(texts.size(), 10u) << ranged->dump();
  EXPECT_EQ(texts.front(), "report number 19");
  EXPECT_EQ(texts.back(), "report number 10");
}

}  // namespace
}  // namespace chat::harness
