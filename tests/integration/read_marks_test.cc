// Conversations and read positions through the real broker: unread counts, and read marks reaching every
// device.
#include <gtest/gtest.h>

#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

TEST_F(GroupsSyncTest, ConversationsCountUnreadAndReadMarksReachEveryDevice) {
  StartBroker({"alice", "bob", "carol"});
  auto devices = Devices({{"alice"}, {"carol"}, {"bob", "phone"}, {"bob", "laptop"}});
  auto alice = std::move(devices[0]);
  auto carol = std::move(devices[1]);
  auto bob_phone = std::move(devices[2]);
  auto bob_laptop = std::move(devices[3]);

  std::vector<std::string> from_alice;
  for (int i = 0; i < 3; ++i) {
    auto ack =
        alice->Request("send", {{"to", "bob"}, {"text", "a" + std::to_string(i)}, {"cmid", "a-" + std::to_string(i)}});
    ASSERT_TRUE(ack && ack->value("type", "") == "ack");
    from_alice.push_back((*ack)["id"]);
  }
  std::string g = CreateGroup(*carol, "Team", {"alice", "bob"});
  ASSERT_FALSE(g.empty());
  std::string last_group_id;
  for (int i = 0; i < 5; ++i) {
    auto ack = carol->Request("send", GroupSend(g, "c" + std::to_string(i), "c-" + std::to_string(i)));
    ASSERT_TRUE(ack && ack->value("type", "") == "ack");
    last_group_id = (*ack)["id"];
  }
  auto bob_own = bob_phone->Request("send", GroupSend(g, "mine", "b-0"));  // the reader's own: never unread
  ASSERT_TRUE(bob_own && bob_own->value("type", "") == "ack");
  std::string bobs_id = (*bob_own)["id"];

  auto conversations = [&](SyncingDevice& d) {
    auto reply = d.Request("conversations", json::object());
    EXPECT_TRUE(reply && reply->value("type", "") == "conversations") << (reply ? reply->dump() : "no reply");
    return reply ? (*reply)["conversations"] : json::array();
  };
  auto find = [](const json& list, const char* key, const std::string& value) {
    for (const json& c : list) {
      if (c.value(key, "") == value) return c;
    }
    return json();
  };

  json list = conversations(*bob_phone);
  ASSERT_EQ(list.size(), 2u) << list.dump();
  EXPECT_EQ(list[0].value("group", ""), g) << "newest activity first: " << list.dump();
  EXPECT_EQ(list[1].value("peer", ""), "alice") << list.dump();
  json team = find(list, "group", g);
  EXPECT_EQ(team["name"], "Team");
  EXPECT_EQ(team["last_id"], bobs_id);
  EXPECT_EQ(team["read_up_to"], "0");
  EXPECT_EQ(team["unread"], 5);
  json with_alice = find(list, "peer", "alice");
  EXPECT_EQ(with_alice["last_id"], from_alice[2]);
  EXPECT_EQ(with_alice["read_up_to"], "0");
  EXPECT_EQ(with_alice["unread"], 3);

  // Bob's phone marks Alice's messages read up to the second: the read event reaches both his devices.
  auto ok = bob_phone->Request("read", {{"peer", "alice"}, {"up_to", from_alice[1]}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->value("type", ""), "ok") << ok->dump();
  EXPECT_EQ((*ok)["op"], "read");
  auto is_read = [](const json& e) { return e.value("type", "") == "read"; };
  ASSERT_TRUE(bob_laptop->WaitForApplied(is_read, 1));
  ASSERT_TRUE(bob_phone->WaitForApplied(is_read, 1));
  json read_event;
  for (const AppliedEvent& e : bob_laptop->applied()) {
    if (is_read(e.event)) read_event = e.event;
  }
  EXPECT_EQ(read_event["peer"], "alice");
  EXPECT_EQ(read_event["up_to"], from_alice[1]);
  EXPECT_TRUE(read_event.contains("seq") && read_event.contains("ts")) << read_event.dump();
  EXPECT_EQ(find(conversations(*bob_laptop), "peer", "alice")["unread"], 1);
  EXPECT_EQ(find(conversations(*bob_laptop), "peer", "alice")["read_up_to"], from_alice[1]);

  // An older position changes nothing and is no event.
  std::int64_t before_seq = bob_laptop->cur_max_seq();
  ok = bob_laptop->Request("read", {{"peer", "alice"}, {"up_to", from_alice[0]}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->value("type", ""), "ok") << ok->dump();
  bob_laptop->PumpFor(milliseconds(300));
  EXPECT_EQ(bob_laptop->cur_max_seq(), before_seq);
  EXPECT_EQ(find(conversations(*bob_phone), "peer", "alice")["read_up_to"], from_alice[1]);

  // The group, read from the laptop up to the last message (Bob's own).
  ok = bob_laptop->Request("read", {{"group", g}, {"up_to", bobs_id}});
  ASSERT_TRUE(ok && ok->value("type", "") == "ok") << (ok ? ok->dump() : "no reply");
  ASSERT_TRUE(bob_phone->WaitForApplied(is_read, 2));
  EXPECT_EQ(find(conversations(*bob_phone), "group", g)["unread"], 0);
  // Unread counts only others' messages: one new from Carol is one unread.
  ASSERT_EQ(Type(carol->Request("send", GroupSend(g, "c5", "c-5"))), "ack");
  EXPECT_EQ(find(conversations(*bob_phone), "group", g)["unread"], 1);

  // Both devices agree on the read positions: the same read events, same seqs, same list.
  ASSERT_TRUE(bob_phone->WaitForSeq(bob_laptop->cur_max_seq()));
  ASSERT_TRUE(bob_laptop->WaitForSeq(bob_phone->cur_max_seq()));
  std::vector<json> phone_reads, laptop_reads;
  for (const AppliedEvent& e : bob_phone->applied()) {
    if (is_read(e.event)) phone_reads.push_back(e.event);
  }
  for (const AppliedEvent& e : bob_laptop->applied()) {
    if (is_read(e.event)) laptop_reads.push_back(e.event);
  }
  EXPECT_EQ(phone_reads.size(), 2u);
  EXPECT_EQ(phone_reads, laptop_reads);
  EXPECT_EQ(conversations(*bob_phone), conversations(*bob_laptop));
  EXPECT_EQ(CheckConsecutive(*bob_phone), "");
  EXPECT_EQ(CheckConsecutive(*bob_laptop), "");

  // Read marks are the reader's own: Alice's devices get none, her counts are her own.
  alice->PumpFor(milliseconds(200));
  for (const AppliedEvent& e : alice->applied()) EXPECT_FALSE(is_read(e.event)) << e.event.dump();
  EXPECT_EQ(find(conversations(*alice), "peer", "bob")["unread"], 0);
  EXPECT_EQ(find(conversations(*alice), "group", g)["unread"], 7);  // Carol's 6 and Bob's 1
}

}  // namespace
}  // namespace chat::harness
