// Jumping to a message (history around an id) and editing or deleting one's own message, through the real
// broker: windows at the start, middle and end of a conversation; edits and deletes reaching two devices
// of each participant live and after sync; who may change what, and for how long.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/groups_sync_fixture.h"

namespace chat::harness {
namespace {

std::vector<std::string> Texts(const json& messages) {
  std::vector<std::string> texts;
  for (const json& m : messages) texts.push_back(m.value("text", "(none)"));
  return texts;
}

std::vector<std::string> Numbered(int from, int to) {
  std::vector<std::string> texts;
  for (int i = from; i <= to; ++i) texts.push_back("m" + std::to_string(i));
  return texts;
}

std::string ErrorCode(const std::optional<json>& reply) { return reply ? reply->value("code", "") : "(no reply)"; }

TEST_F(GroupsSyncTest, JumpingToAMessageReturnsAWindowAroundItAndPagingGoesOnBothWays) {
  StartBroker({"alice", "bob", "carol"});
  auto devices = Devices({{"alice"}, {"bob"}, {"carol"}});
  auto& alice = *devices[0];
  auto& bob = *devices[1];
  auto& carol = *devices[2];
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    auto ack = (i % 2 ? bob : alice).Request("send", {{"to", i % 2 ? "alice" : "bob"}, {"text", "m" + std::to_string(i)}});
    ASSERT_EQ(Type(ack), "ack");
    ids.push_back((*ack)["id"]);
  }
  auto around = [&](int index, int limit = 5) {
    auto reply = alice.Request("history", {{"peer", "bob"}, {"around", ids[index]}, {"limit", limit}});
    EXPECT_EQ(Type(reply), "history") << (reply ? reply->dump() : "");
    return reply ? *reply : json::object();
  };

  json start = around(0);
  EXPECT_EQ(Texts(start["messages"]), Numbered(0, 5));
  EXPECT_EQ(start["around"], ids[0]);
  EXPECT_EQ(start["more_before"], false);
  EXPECT_EQ(start["more_after"], true);

  json middle = around(15);
  EXPECT_EQ(Texts(middle["messages"]), Numbered(10, 20));
  EXPECT_EQ(middle["more_before"], true);
  EXPECT_EQ(middle["more_after"], true);

  json end = around(29);
  EXPECT_EQ(Texts(end["messages"]), Numbered(24, 29));
  EXPECT_EQ(end["more_before"], true);
  EXPECT_EQ(end["more_after"], false);

  // From the middle window, paging on both ways with the ordinary history requests.
  auto older = bob.Request("history", {{"peer", "alice"}, {"before", middle["messages"].front()["id"]}, {"limit", 5}});
  EXPECT_EQ(Texts((*older)["messages"]), (std::vector<std::string>{"m9", "m8", "m7", "m6", "m5"}));
  auto newer = bob.Request("history", {{"peer", "alice"}, {"after", middle["messages"].back()["id"]}, {"limit", 5},
                                       {"order", "oldest_first"}});
  EXPECT_EQ(Texts((*newer)["messages"]), Numbered(21, 25));

  // An id of another conversation, or none at all, is not found; around is asked for alone.
  ASSERT_EQ(Type(carol.Request("send", {{"to", "alice"}, {"text", "elsewhere"}})), "ack");
  auto elsewhere = carol.Request("history", {{"peer", "bob"}, {"around", ids[3]}});
  EXPECT_EQ(ErrorCode(elsewhere), "not_found") << elsewhere->dump();
  EXPECT_EQ(ErrorCode(alice.Request("history", {{"peer", "bob"}, {"around", "12345"}})), "not_found");
  EXPECT_EQ(ErrorCode(alice.Request("history", {{"peer", "bob"}, {"around", ids[3]}, {"before", ids[9]}})),
            "bad_request");

  // Groups too.
  std::string g = CreateGroup(alice, "g", {"bob", "carol"});
  std::vector<std::string> group_ids;
  for (int i = 0; i < 7; ++i) {
    auto ack = carol.Request("send", GroupSend(g, "g" + std::to_string(i), "g-" + std::to_string(i)));
    ASSERT_EQ(Type(ack), "ack");
    group_ids.push_back((*ack)["id"]);
  }
  auto window = bob.Request("history", {{"group", g}, {"around", group_ids[3]}, {"limit", 2}});
  EXPECT_EQ(Texts((*window)["messages"]), (std::vector<std::string>{"g1", "g2", "g3", "g4", "g5"}));
}

// Every device's view of one message id: its text as the last event about it left it, or "(deleted)".
std::string ShownText(const SyncingDevice& device, const std::string& id) {
  std::string shown = "(never seen)";
  for (const AppliedEvent& e : device.applied()) {
    if (e.event.value("id", "") != id) continue;
    shown = e.event.value("deleted", false) ? "(deleted)" : e.event.value("text", "(no text)");
  }
  return shown;
}

TEST_F(GroupsSyncTest, EditsAndDeletesReachEveryDeviceLiveAndAfterSyncAndTheOldTextIsGone) {
  StartBroker({"alice", "bob", "carol"});
  auto devices = Devices({{"alice", "phone"}, {"alice", "laptop"}, {"bob", "phone"}, {"bob", "laptop"}, {"carol"}});
  auto& alice_phone = *devices[0];
  auto& alice_laptop = *devices[1];
  auto& bob_phone = *devices[2];
  auto& bob_laptop = *devices[3];
  auto& carol = *devices[4];
  std::vector<SyncingDevice*> everyone = {&alice_phone, &alice_laptop, &bob_phone, &bob_laptop};

  auto ack = alice_phone.Request("send", {{"to", "bob"}, {"text", "the original secret"}, {"cmid", "o-1"}});
  ASSERT_EQ(Type(ack), "ack");
  std::string id = (*ack)["id"];
  auto is_kind = [&](const char* type) {
    return [&, type](const json& e) { return e.value("type", "") == type && e.value("id", "") == id; };
  };

  // Only the sender edits.
  EXPECT_EQ(ErrorCode(bob_phone.Request("edit", {{"peer", "alice"}, {"id", id}, {"text", "bob was here"}})),
            "not_allowed");
  auto edited = alice_laptop.Request("edit", {{"peer", "bob"}, {"id", id}, {"text", "the corrected text"}});
  ASSERT_EQ(Type(edited), "ok") << edited->dump();
  EXPECT_EQ((*edited)["op"], "edit");
  for (SyncingDevice* device : everyone) {
    ASSERT_TRUE(device->WaitForApplied(is_kind("edit"), 1)) << device->user();
    EXPECT_EQ(ShownText(*device, id), "the corrected text") << device->user();
  }
  auto history = bob_laptop.Request("history", {{"peer", "alice"}});
  ASSERT_EQ((*history)["messages"].size(), 1u);
  EXPECT_EQ((*history)["messages"][0]["text"], "the corrected text");
  EXPECT_TRUE((*history)["messages"][0].contains("edited_at"));
  auto list = bob_phone.Request("conversations", json::object());
  EXPECT_EQ((*list)["conversations"][0]["last"]["text"], "the corrected text");

  // The sender deletes it: a tombstone everywhere, the text nowhere.
  EXPECT_EQ(ErrorCode(bob_phone.Request("delete", {{"peer", "alice"}, {"id", id}})), "not_allowed");
  auto deleted = alice_phone.Request("delete", {{"peer", "bob"}, {"id", id}});
  ASSERT_EQ(Type(deleted), "ok") << deleted->dump();
  for (SyncingDevice* device : everyone) {
    ASSERT_TRUE(device->WaitForApplied(is_kind("delete"), 1)) << device->user();
    EXPECT_EQ(ShownText(*device, id), "(deleted)") << device->user();
  }
  history = alice_laptop.Request("history", {{"peer", "bob"}});
  json tombstone = (*history)["messages"][0];
  EXPECT_EQ(tombstone["deleted"], true);
  EXPECT_EQ(tombstone["deleted_by"], "alice");
  EXPECT_FALSE(tombstone.contains("text")) << tombstone.dump();
  list = bob_phone.Request("conversations", json::object());
  EXPECT_EQ((*list)["conversations"][0]["last"]["deleted"], true);
  // Editing a deleted message finds nothing; deleting it again changes nothing.
  EXPECT_EQ(ErrorCode(alice_phone.Request("edit", {{"peer", "bob"}, {"id", id}, {"text", "back"}})), "not_found");
  EXPECT_EQ(Type(alice_phone.Request("delete", {{"peer", "bob"}, {"id", id}})), "ok");

  // A device that syncs from the start sees the message, the edit and the delete each as the
  // message is now: the original and the corrected text are in none of them.
  SyncingDevice tablet(broker_->mqtt_uri(), "bob", "tablet", Password("bob"));
  ASSERT_EQ(tablet.Connect(), "");
  int about_it = 0;
  for (const AppliedEvent& e : tablet.applied()) {
    std::string dumped = e.event.dump();
    EXPECT_EQ(dumped.find("original secret"), std::string::npos) << dumped;
    EXPECT_EQ(dumped.find("corrected"), std::string::npos) << dumped;
    if (e.event.value("id", "") == id) ++about_it;
  }
  EXPECT_EQ(about_it, 3);
  EXPECT_EQ(ShownText(tablet, id), "(deleted)");
  for (SyncingDevice* device : everyone) EXPECT_EQ(CheckConsecutive(*device), "") << device->user();

  // Groups: the owner (carol) deletes anyone's message; another member may not.
  std::string g = CreateGroup(carol, "g", {"alice", "bob"});
  auto bobs = bob_phone.Request("send", GroupSend(g, "bob's group message", "b-1"));
  ASSERT_EQ(Type(bobs), "ack");
  std::string bobs_id = (*bobs)["id"];
  EXPECT_EQ(ErrorCode(alice_phone.Request("delete", {{"group", g}, {"id", bobs_id}})), "not_allowed");
  EXPECT_EQ(ErrorCode(alice_phone.Request("edit", {{"group", g}, {"id", bobs_id}, {"text", "x"}})), "not_allowed");
  ASSERT_EQ(Type(carol.Request("delete", {{"group", g}, {"id", bobs_id}})), "ok");
  for (SyncingDevice* device : everyone) {
    ASSERT_TRUE(device->WaitForApplied(
        [&](const json& e) { return e.value("type", "") == "delete" && e.value("id", "") == bobs_id; }, 1))
        << device->user();
    EXPECT_EQ(ShownText(*device, bobs_id), "(deleted)");
  }
  auto group_history = alice_laptop.Request("history", {{"group", g}});
  EXPECT_EQ((*group_history)["messages"][0]["deleted_by"], "carol");

  // In the store itself only the tombstone is left.
  alice_phone.Disconnect();
  ASSERT_EQ(broker_->Stop(), 0);
  std::string error = broker_->WithStoreOffline([&](core::Store& store, const config::ServerConfig&) {
    auto message = store.GetMessage(core::Conversation::Direct("alice", "bob"), *core::ParseMessageId(id));
    EXPECT_TRUE(message.ok() && *message);
    if (message.ok() && *message) {
      EXPECT_EQ((*message)->text, "");
      EXPECT_EQ((*message)->deleted_by, "alice");
    }
    return core::Status::Ok();
  });
  EXPECT_EQ(error, "");
}

TEST_F(GroupsSyncTest, MessagesCanBeChangedOnlyWithinTheEditWindow) {
  StartBroker({"alice", "bob"}, "  edit_window_seconds: 1\n");
  auto devices = Devices({{"alice"}, {"bob"}});
  auto& alice = *devices[0];
  auto ack = alice.Request("send", {{"to", "bob"}, {"text", "quick"}});
  ASSERT_EQ(Type(ack), "ack");
  std::string id = (*ack)["id"];
  ASSERT_EQ(Type(alice.Request("edit", {{"peer", "bob"}, {"id", id}, {"text", "quicker"}})), "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto late = alice.Request("edit", {{"peer", "bob"}, {"id", id}, {"text", "too late"}});
  EXPECT_EQ(ErrorCode(late), "not_allowed");
  EXPECT_NE(late->value("message", "").find("1 seconds"), std::string::npos) << late->dump();
  EXPECT_EQ(ErrorCode(alice.Request("delete", {{"peer", "bob"}, {"id", id}})), "not_allowed");
  // Bad requests say what is wrong.
  EXPECT_EQ(ErrorCode(alice.Request("edit", {{"peer", "bob"}, {"text", "no id"}})), "bad_request");
  EXPECT_EQ(ErrorCode(alice.Request("edit", {{"peer", "bob"}, {"id", id}, {"text", ""}})), "bad_request");
  EXPECT_EQ(ErrorCode(alice.Request("delete", {{"peer", "bob"}, {"id", "not a number"}})), "bad_request");
}

}  // namespace
}  // namespace chat::harness
