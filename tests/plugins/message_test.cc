// MESSAGE inside FakeBroker: sends stored and published, rejected requests, duplicates, other topics.
#include <gtest/gtest.h>

#include "tests/plugins/plugin_fixture.h"

namespace chat::harness {
namespace {

// --- MESSAGE ---------------------------------------------------------------------------------------

TEST_F(PluginInProcessTest, ValidSendIsStoredThenPublishedToEveryOtherDeviceAndAckedToTheSender) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  Login("alice", "alice-pw", "laptop");
  Login("bob", "bob-pw");
  MessageOutcome out = broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "Hello, Bob!", "c1"),
                                        /*qos=*/1, /*retain=*/true);
  EXPECT_EQ(out.rc, MOSQ_ERR_SUCCESS);
  EXPECT_FALSE(out.retain);  // a request is never retained
  EXPECT_EQ(out.topic, "chat/v1/req/send");

  // One publish per device, addressed to it (no topic fan-out, no ACL check per copy); the sending
  // device gets the ack only.
  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 3u);
  const Publication& to_bob = published[0];
  const Publication& to_laptop = published[1];
  const Publication& ack = published[2];
  EXPECT_EQ(to_bob.client_id, "bob:phone");
  EXPECT_EQ(to_bob.topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(to_laptop.client_id, "alice:laptop");
  EXPECT_EQ(to_laptop.topic, "chat/v1/user/alice/msg");
  EXPECT_EQ(ack.client_id, "alice:phone");
  EXPECT_EQ(ack.topic, "chat/v1/user/alice/reply");
  EXPECT_EQ(to_bob.qos, 1);  // events must reach every device
  EXPECT_EQ(to_laptop.qos, 1);
  EXPECT_EQ(ack.qos, 0);  // a reply lost with its connection is recovered by retrying the send
  for (const Publication& p : published) {
    EXPECT_FALSE(p.retain);
    EXPECT_FALSE(p.has_properties);
  }

  json event = Json(to_bob.payload);
  EXPECT_EQ(event["type"], "message");
  EXPECT_EQ(event["from"], "alice");
  EXPECT_EQ(event["to"], "bob");
  EXPECT_EQ(event["text"], "Hello, Bob!");
  EXPECT_EQ(event["cmid"], "c1");
  EXPECT_EQ(event["seq"], 1);
  json laptop_event = Json(to_laptop.payload);
  EXPECT_EQ(laptop_event["id"], event["id"]);
  EXPECT_EQ(laptop_event["seq"], 1);  // alice's own queue
  json acked = Json(ack.payload);
  EXPECT_EQ(acked["type"], "ack");
  EXPECT_EQ(acked["cmid"], "c1");
  EXPECT_EQ(acked["id"], event["id"]);
  EXPECT_EQ(acked["seq"], 1);
  EXPECT_FALSE(acked.contains("duplicate"));

  // Stored: bob's history has it.
  mosquitto* bob = Login("bob", "bob-pw", "tablet");
  EXPECT_EQ(broker_->Message(bob, "chat/v1/req/history", R"({"rid":"h1","peer":"alice"})").rc, MOSQ_ERR_SUCCESS);
  published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].client_id, "bob:tablet");
  json page = Json(published[0].payload);
  ASSERT_EQ(page["messages"].size(), 1u);
  EXPECT_EQ(page["messages"][0]["id"], event["id"]);
}

TEST_F(PluginInProcessTest, SendToOneselfReachesTheOtherDevicesOnce) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  Login("alice", "alice-pw", "laptop");
  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("alice", "note", "n1")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].client_id, "alice:laptop");
  EXPECT_EQ(published[0].topic, "chat/v1/user/alice/msg");
  EXPECT_EQ(published[1].topic, "chat/v1/user/alice/reply");
  EXPECT_EQ(Json(published[1].payload)["seq"], 1);
}

TEST_F(PluginInProcessTest, TooLongSendIsRejectedWithOneErrorToTheSenderAndNothingStored) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  std::string text(100001, 'x');  // the default limit is 100000 code points
  MessageOutcome out = broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", text, "long1"), 1, true);
  EXPECT_EQ(out.rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_FALSE(out.retain);

  std::vector<Publication> published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].client_id, "alice:phone");
  EXPECT_EQ(published[0].topic, "chat/v1/user/alice/reply");
  json error = Json(published[0].payload);
  EXPECT_EQ(error["type"], "error");
  EXPECT_EQ(error["op"], "send");
  EXPECT_EQ(error["code"], "too_long");
  EXPECT_EQ(error["cmid"], "long1");

  EXPECT_EQ(broker_->Message(alice, "chat/v1/req/history", R"({"peer":"bob"})").rc, MOSQ_ERR_SUCCESS);
  published = broker_->TakePublished();
  ASSERT_EQ(published.size(), 1u);
  json page = Json(published[0].payload);
  EXPECT_EQ(page["type"], "history");
  EXPECT_THAT(page["messages"], IsEmpty());
}

TEST_F(PluginInProcessTest, RejectedRequestsEachGetOneErrorReply) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  struct Case {
    std::string payload;
    std::string code;
  };
  for (const Case& c : std::vector<Case>{{"not json", "bad_request"},
                                         {R"({"to":"bob"})", "bad_request"},
                                         {R"({"to":"nobody","text":"hi"})", "unknown_peer"},
                                         {"{\"to\":\"bob\",\"text\":\"\xff\"}", "bad_utf8"}}) {
    EXPECT_EQ(broker_->Message(alice, "chat/v1/req/send", c.payload).rc, MOSQ_ERR_ACL_DENIED) << c.payload;
    std::vector<Publication> published = broker_->TakePublished();
    ASSERT_EQ(published.size(), 1u) << c.payload;
    EXPECT_EQ(published[0].client_id, "alice:phone");
    EXPECT_EQ(Json(published[0].payload)["code"], c.code) << c.payload;
  }
}

TEST_F(PluginInProcessTest, RetryWithTheSameCmidIsAckedAsDuplicateWithoutNewEvents) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  Login("bob", "bob-pw");
  ASSERT_EQ(broker_->Message(alice, "chat/v1/req/send", SendPayload("bob", "once", "r1")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> first = broker_->TakePublished();
  ASSERT_EQ(first.size(), 2u);  // to bob's phone, the ack
  std::string id = Json(first[1].payload)["id"];

  // The retry comes from another device of the same user, after a reconnect.
  mosquitto* laptop = Login("alice", "alice-pw", "laptop");
  EXPECT_EQ(broker_->Message(laptop, "chat/v1/req/send", SendPayload("bob", "once", "r1")).rc, MOSQ_ERR_SUCCESS);
  std::vector<Publication> retry = broker_->TakePublished();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].client_id, "alice:laptop");
  EXPECT_EQ(retry[0].topic, "chat/v1/user/alice/reply");
  json ack = Json(retry[0].payload);
  EXPECT_EQ(ack["type"], "ack");
  EXPECT_EQ(ack["id"], id);
  EXPECT_EQ(ack["duplicate"], true);
}

TEST_F(PluginInProcessTest, MessageOnAnotherTopicIsLeftAlone) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  MessageOutcome out = broker_->Message(alice, "some/other/topic", "payload", 0, true);
  EXPECT_EQ(out.rc, MOSQ_ERR_SUCCESS);
  EXPECT_TRUE(out.retain);
  EXPECT_EQ(out.payload, "payload");
  EXPECT_THAT(broker_->published(), IsEmpty());
}

TEST_F(PluginInProcessTest, RequestFromAnUnauthenticatedClientIsDropped) {
  Start();
  mosquitto* stranger = broker_->AddClient("alice:phone");
  EXPECT_EQ(broker_->Message(stranger, "chat/v1/req/send", SendPayload("bob", "hi", "s1")).rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_THAT(broker_->published(), IsEmpty());
}

TEST_F(PluginInProcessTest, ClientPublishRunsTheWriteCheckFirst) {
  Start();
  mosquitto* alice = Login("alice", "alice-pw");
  EXPECT_EQ(broker_->ClientPublish(alice, "chat/v1/user/bob/msg", R"({"type":"message"})").rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_EQ(broker_->ClientPublish(alice, "$SYS/broker/x", "x").rc, MOSQ_ERR_ACL_DENIED);
  EXPECT_THAT(broker_->published(), IsEmpty());
  EXPECT_EQ(broker_->ClientPublish(alice, "chat/v1/req/send", SendPayload("bob", "hi", "p1")).rc, MOSQ_ERR_SUCCESS);
  EXPECT_EQ(broker_->TakePublished().size(), 1u);  // the ack (bob has no device)
}

}  // namespace
}  // namespace chat::harness
