// The per-user sync queue through the real broker: catching up in pages, reconnecting mid-stream,
// persistent sessions, and 1:1 messages in both users' queues.
#include <gtest/gtest.h>

#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

// A device offline while 10,000 messages arrive catches up on all of them by sync pages: in order,
// each exactly once, more than one page, and no page above the requested limit.
TEST_F(GroupsSyncTest, OfflineDeviceCatchesUpTenThousandMessagesInPages) {
  constexpr int kSenders = 4;
  constexpr int kPerSender = 2500;
  constexpr int kPage = 500;
  StartBroker({"bob", "s0", "s1", "s2", "s3"});
  auto devices = Devices({{"s0"}, {"bob", "phone", kPage}});
  auto owner = std::move(devices[0]);
  auto bob = std::move(devices[1]);
  std::string g = CreateGroup(*owner, "Firehose", {"bob", "s1", "s2", "s3"});
  ASSERT_FALSE(g.empty());
  ASSERT_TRUE(bob->WaitForSeq(1));  // the group's creation
  bob->Disconnect();
  owner->Disconnect();

  std::set<std::string> cmids = SendConcurrently({"s0", "s1", "s2", "s3"}, g, kPerSender);
  constexpr std::size_t kTotal = kSenders * kPerSender;

  ASSERT_EQ(bob->Connect(/*clean=*/true), "");
  EXPECT_EQ(bob->sync_error(), "");
  std::vector<json> messages = bob->AppliedMessages(g);
  ASSERT_EQ(messages.size(), kTotal);
  EXPECT_EQ(CheckExactlyOnce(messages, cmids), "");
  EXPECT_EQ(CheckConsecutive(*bob), "");
  EXPECT_EQ(CheckIncreasing(IdsOf(messages)), "");
  EXPECT_EQ(CheckPerSenderOrder(messages), "");
  EXPECT_EQ(bob->cur_max_seq(), static_cast<std::int64_t>(kTotal) + 1);
  EXPECT_EQ(bob->last_seq_seen(), static_cast<std::int64_t>(kTotal) + 1);
  EXPECT_EQ(bob->duplicates_ignored(), 0);
  const auto& pages = bob->sync_page_sizes();
  EXPECT_GE(pages.size(), kTotal / kPage);
  EXPECT_LE(*std::max_element(pages.begin(), pages.end()), static_cast<std::size_t>(kPage));
  for (std::size_t i = 1; i < bob->applied().size(); ++i) EXPECT_TRUE(bob->applied()[i].from_sync);

  // The server caps a page at max_sync_page (500) whatever is asked for; last_seq is the queue's end.
  auto big = bob->Request("sync", {{"after", 0}, {"limit", 1000}});
  ASSERT_EQ(Type(big), "sync");
  EXPECT_EQ((*big)["events"].size(), 500u);
  EXPECT_EQ((*big)["more"], true);
  EXPECT_EQ((*big)["last_seq"], static_cast<std::int64_t>(kTotal) + 1);
}

// A device that drops off and comes back while messages keep arriving: some arrive live, some by sync,
// and none is applied twice or skipped. The first reconnect keeps the MQTT session (so the broker may
// also redeliver what was in flight or queued, overlapping the sync); the second is a clean one that
// leaves out the sync, as if it had been lost, so the next live event reveals a gap the rules must close.
TEST_F(GroupsSyncTest, DeviceReconnectingMidStreamHasNoDuplicateAndNoGap) {
  StartBroker({"alice", "bob"});
  auto bob = Device({"bob", "phone", 100, /*clean=*/false});
  auto alice = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "alice", "sender");
  ASSERT_EQ(alice->Connect(Password("alice")), "");
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::atomic<int> failures{0};
  std::thread sender([&] {
    for (int n = 0; n < 20000 && !stop; ++n) {
      std::string cmid = "alice-" + std::to_string(n);
      nlohmann::json request = {{"to", "bob"}, {"text", "stream " + cmid}, {"cmid", cmid}};
      int rc = alice->Publish("chat/v1/req/send", request.dump());
      if (rc < 0 || rc >= 0x80) ++failures;
      ++sent;
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
  auto messages_applied = [&] { return bob->AppliedMessages().size(); };
  auto pump_to = [&](std::size_t count) {
    return bob->PumpUntil([&] { return messages_applied() >= count; }, seconds(20));
  };

  bool ok = pump_to(100);
  EXPECT_TRUE(ok);
  if (ok) {
    bob->Disconnect();
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_EQ(bob->Connect(/*clean=*/false), "");
    ok = pump_to(messages_applied() + 100);
    EXPECT_TRUE(ok);
  }
  int gaps_before = bob->gaps_detected();
  if (ok) {
    bob->Disconnect();
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_EQ(bob->client().Connect(Password("bob"), /*clean=*/true), "");
    EXPECT_TRUE(bob->client().SubscribeOwn());
    ok = bob->PumpUntil([&] { return bob->gaps_detected() > gaps_before; }, seconds(20));
    EXPECT_TRUE(ok) << "no gap seen after a reconnect without sync";
    if (ok) {
      EXPECT_TRUE(pump_to(messages_applied() + 100));
    }
  }
  stop = true;
  sender.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> cmids;
  for (int n = 0; n < sent; ++n) cmids.insert("alice-" + std::to_string(n));
  ASSERT_TRUE(pump_to(cmids.size())) << messages_applied() << " of " << cmids.size();
  bob->PumpFor(milliseconds(300));

  std::vector<json> messages = bob->AppliedMessages();
  EXPECT_EQ(CheckExactlyOnce(messages, cmids), "");
  EXPECT_EQ(CheckConsecutive(*bob), "");
  EXPECT_EQ(CheckPerSenderOrder(messages), "");
  EXPECT_EQ(CheckIncreasing(IdsOf(messages)), "");
  std::size_t live = 0, synced = 0;
  for (const AppliedEvent& e : bob->applied()) (e.from_sync ? synced : live)++;
  EXPECT_GT(live, 0u);
  EXPECT_GT(synced, 0u);
  EXPECT_GE(bob->gaps_detected(), 1);
  RecordProperty("live", static_cast<int>(live));
  RecordProperty("synced", static_cast<int>(synced));
  RecordProperty("duplicates_ignored", bob->duplicates_ignored());
}

// PROTOCOL.md, Topics: events go out at QoS 1 and "no device misses one while connected or while its
// persistent session lasts". So a device with a persistent session gets what was published while it
// was away from the broker itself on reconnecting, before (here: without) any sync.
TEST_F(GroupsSyncTest, PersistentSessionGetsEventsPublishedWhileOffline) {
  StartBroker({"alice", "bob"});
  auto devices = Devices({{"alice"}, {"bob", "phone", 100, /*clean=*/false}});
  auto alice = std::move(devices[0]);
  auto bob = std::move(devices[1]);
  bob->Disconnect();
  std::this_thread::sleep_for(milliseconds(200));
  for (int i = 0; i < 3; ++i) {
    auto ack = alice->Request(
        "send", {{"to", "bob"}, {"text", "queued " + std::to_string(i)}, {"cmid", "p" + std::to_string(i)}});
    ASSERT_EQ(Type(ack), "ack");
  }
  // The MQTT session alone, without the sync of rule 1: only what the broker kept for the session arrives.
  ASSERT_EQ(bob->client().Connect(Password("bob"), /*clean=*/false), "");
  int queued = 0;
  for (const Received& r : bob->client().Collect(milliseconds(1500))) {
    if (r.json.is_object() && r.json.value("type", "") == "message") ++queued;
  }
  EXPECT_EQ(queued, 3) << "events published while the persistent session was offline were not delivered on "
                          "reconnect";
  // The sync recovers them anyway.
  EXPECT_EQ(bob->Sync(), "");
  EXPECT_EQ(bob->AppliedMessages().size(), 3u);
}

TEST_F(GroupsSyncTest, OneToOneMessagesHaveSeqInBothUsersSyncQueues) {
  StartBroker({"alice", "bob"});
  auto devices = Devices({{"alice"}, {"alice", "laptop"}, {"bob"}});
  auto alice = std::move(devices[0]);
  auto alice_laptop = std::move(devices[1]);
  auto bob = std::move(devices[2]);
  auto ack = alice->Request("send", {{"to", "bob"}, {"text", "hello"}, {"cmid", "h1"}});
  ASSERT_TRUE(ack);
  ASSERT_EQ(ack->value("type", ""), "ack") << ack->dump();
  std::string id = (*ack)["id"];
  ASSERT_TRUE(bob->WaitForSeq(1));
  ASSERT_TRUE(alice->WaitForSeq(1));
  ASSERT_TRUE(alice_laptop->WaitForSeq(1));
  for (SyncingDevice* d : {bob.get(), alice.get(), alice_laptop.get()}) {
    ASSERT_EQ(d->applied().size(), 1u);
    const json& e = d->applied()[0].event;
    EXPECT_FALSE(d->applied()[0].from_sync);
    EXPECT_EQ(e.value("type", ""), "message");
    EXPECT_EQ(e.value("seq", 0), 1);
    EXPECT_EQ(e.value("id", ""), id);
    EXPECT_EQ(e.value("from", ""), "alice");
    EXPECT_EQ(e.value("to", ""), "bob");
    EXPECT_FALSE(e.contains("group"));
  }
  // Bob replies: seq 2 in both queues; and the two users' copies differ in seq only.
  ASSERT_EQ(Type(bob->Request("send", {{"to", "alice"}, {"text", "hi"}, {"cmid", "h2"}})), "ack");
  ASSERT_EQ(Type(alice->Request("send", {{"to", "alice"}, {"text", "note to self"}, {"cmid", "h3"}})), "ack");
  ASSERT_TRUE(alice->WaitForSeq(3));
  ASSERT_TRUE(bob->WaitForSeq(2));
  auto fresh = Devices({{"alice", "tablet"}, {"bob", "tablet"}});
  auto& alice_fresh = fresh[0];
  auto& bob_fresh = fresh[1];
  ASSERT_EQ(alice_fresh->applied().size(), 3u);
  ASSERT_EQ(bob_fresh->applied().size(), 2u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(alice_fresh->applied()[i].event, alice->applied()[i].event);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(bob_fresh->applied()[i].event, bob->applied()[i].event);
    json mine = alice->applied()[i].event, theirs = bob->applied()[i].event;
    mine.erase("seq");
    theirs.erase("seq");
    EXPECT_EQ(mine, theirs);
  }
  // A message to oneself is one entry, not two.
  EXPECT_EQ(alice_fresh->applied()[2].event.value("text", ""), "note to self");
  EXPECT_EQ(CheckConsecutive(*alice_fresh), "");
}

}  // namespace
}  // namespace chat::harness
