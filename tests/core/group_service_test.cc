#include "core/group_service.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

#include "core/account_service.h"
#include "core/chat_service.h"
#include "storage/rocksdb_store.h"
#include "tests/core/service_fixture.h"

namespace chat::core {
namespace {

using nlohmann::json;


class GroupServiceTest : public ServiceFixture {
 protected:
  void SetUp() override {
    limits_.max_group_members = 3;
    CreateUsers({"alice", "bob", "carol", "dave", "root1", "mallory"});
    // alice adds her contacts at once; anyone else would be invited (see the invitation tests).
    for (const char* user : {"bob", "carol", "dave"}) MakeContacts("alice", user);
  }
  json Reply() { return outbox_.published.back().payload; }
  // The events published to `user`'s message topic by the last request.
  std::vector<json> EventsFor(const std::string& user) {
    std::vector<json> events;
    for (const Published& p : outbox_.published) {
      if (p.topic == "chat/v1/user/" + user + "/msg") events.push_back(p.payload);
    }
    return events;
  }
  std::string CreateGroup() {
    EXPECT_TRUE(Request("alice", RequestOp::kGroupCreate, {{"name", "Team"}, {"members", {"bob"}}}).ok());
    return Reply()["group"];
  }
};

TEST_F(GroupServiceTest, CreateMakesTheCreatorOwnerAndTellsEveryMember) {
  ASSERT_TRUE(Request("alice", RequestOp::kGroupCreate, {{"name", "Team"}, {"members", {"bob", "bob"}}}).ok());
  json reply = Reply();
  EXPECT_EQ(reply["type"], "group");
  EXPECT_EQ(reply["owner"], "alice");
  EXPECT_EQ(reply["members"], json({"alice", "bob"}));
  for (const char* user : {"alice", "bob"}) {
    auto events = EventsFor(user);
    ASSERT_EQ(events.size(), 1u) << user;
    EXPECT_EQ(events[0]["type"], "group");
    EXPECT_EQ(events[0]["event"], "created");
    EXPECT_EQ(events[0]["seq"], 1);
  }
  EXPECT_TRUE(EventsFor("carol").empty());
}

TEST_F(GroupServiceTest, GroupMessagesReachEveryMemberWithTheirOwnSeq) {
  std::string group = CreateGroup();
  ASSERT_TRUE(Request("bob", RequestOp::kSend, {{"group", group}, {"text", "hi all"}, {"cmid", "g1"}}).ok());
  auto to_alice = EventsFor("alice");
  auto to_bob = EventsFor("bob");
  ASSERT_EQ(to_alice.size(), 1u);
  ASSERT_EQ(to_bob.size(), 1u);
  EXPECT_EQ(to_alice[0]["group"], group);
  EXPECT_FALSE(to_alice[0].contains("to"));
  EXPECT_EQ(to_alice[0]["seq"], 2);
  EXPECT_EQ(Reply()["type"], "ack");
  ASSERT_TRUE(Request("alice", RequestOp::kHistory, {{"group", group}}).ok());
  EXPECT_EQ(Reply()["messages"].size(), 1u);
  EXPECT_EQ(Reply()["group"], group);
}

TEST_F(GroupServiceTest, OutsidersCanNeitherPostNorRead) {
  std::string group = CreateGroup();
  EXPECT_EQ(Request("carol", RequestOp::kSend, {{"group", group}, {"text", "x"}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Request("carol", RequestOp::kHistory, {{"group", group}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Request("carol", RequestOp::kGroupMembers, {{"group", group}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Request("carol", RequestOp::kSend, {{"group", "999"}, {"text", "x"}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Reply()["code"], "not_found");
}

TEST_F(GroupServiceTest, OnlyTheOwnerOrAnAdminAddsAndRemoves) {
  std::string group = CreateGroup();
  EXPECT_EQ(Request("bob", RequestOp::kGroupAdd, {{"group", group}, {"users", {"carol"}}}).code(),
            ErrorCode::kNotAllowed);
  EXPECT_EQ(Request("bob", RequestOp::kGroupRemove, {{"group", group}, {"user", "alice"}}).code(),
            ErrorCode::kNotAllowed);
  EXPECT_TRUE(Request("root1", RequestOp::kGroupAdd, {{"group", group}, {"users", {"carol"}}}, /*admin=*/true).ok());
  EXPECT_EQ(Reply()["members"], json({"alice", "bob", "carol"}));
}

TEST_F(GroupServiceTest, AddingPastTheLimitIsRefusedAndChangesNothing) {
  std::string group = CreateGroup();
  EXPECT_EQ(Request("alice", RequestOp::kGroupAdd, {{"group", group}, {"users", {"carol", "dave"}}}).code(),
            ErrorCode::kGroupFull);
  EXPECT_EQ(Reply()["code"], "group_full");
  ASSERT_TRUE(Request("alice", RequestOp::kGroupMembers, {{"group", group}}).ok());
  EXPECT_EQ(Reply()["members"], json({"alice", "bob"}));
  EXPECT_EQ(Request("alice", RequestOp::kGroupCreate, {{"name", "Big"}, {"members", {"bob", "carol", "dave"}}}).code(),
            ErrorCode::kGroupFull);
  EXPECT_EQ(Request("alice", RequestOp::kGroupAdd, {{"group", group}, {"users", {"ghost"}}}).code(),
            ErrorCode::kUnknownPeer);
}

TEST_F(GroupServiceTest, ARemovedMemberHearsOfItThenNothingMore) {
  std::string group = CreateGroup();
  ASSERT_TRUE(Request("alice", RequestOp::kGroupRemove, {{"group", group}, {"user", "bob"}}).ok());
  ASSERT_EQ(EventsFor("bob").size(), 1u);
  EXPECT_EQ(EventsFor("bob")[0]["event"], "removed");
  ASSERT_TRUE(Request("alice", RequestOp::kSend, {{"group", group}, {"text", "after"}}).ok());
  EXPECT_TRUE(EventsFor("bob").empty());
  EXPECT_EQ(Request("bob", RequestOp::kHistory, {{"group", group}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Request("bob", RequestOp::kSend, {{"group", group}, {"text", "x"}}).code(), ErrorCode::kNotFound);
}

TEST_F(GroupServiceTest, OwnershipPassesToTheEarliestMemberWhenTheOwnerLeaves) {
  std::string group = CreateGroup();
  clock_.Advance(10);
  ASSERT_TRUE(Request("alice", RequestOp::kGroupAdd, {{"group", group}, {"users", {"carol"}}}).ok());
  ASSERT_TRUE(Request("alice", RequestOp::kGroupLeave, {{"group", group}}).ok());
  EXPECT_EQ(Reply()["type"], "ok");
  ASSERT_TRUE(Request("bob", RequestOp::kGroupMembers, {{"group", group}}).ok());
  EXPECT_EQ(Reply()["owner"], "bob");
  EXPECT_EQ(Reply()["members"], json({"bob", "carol"}));
}

TEST_F(GroupServiceTest, RenameAndListMyGroups) {
  std::string group = CreateGroup();
  ASSERT_TRUE(Request("bob", RequestOp::kGroupRename, {{"group", group}, {"name", "Renamed"}}).ok());
  EXPECT_EQ(EventsFor("alice")[0]["event"], "renamed");
  EXPECT_EQ(Request("bob", RequestOp::kGroupRename, {{"group", group}, {"name", ""}}).code(), ErrorCode::kBadRequest);
  ASSERT_TRUE(Request("bob", RequestOp::kGroups, json::object()).ok());
  json groups = Reply()["groups"];
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["name"], "Renamed");
  EXPECT_EQ(groups[0]["members"], 2);
  ASSERT_TRUE(Request("carol", RequestOp::kGroups, json::object()).ok());
  EXPECT_TRUE(Reply()["groups"].empty());
}

TEST_F(GroupServiceTest, SomeoneNotTheAddersContactIsInvitedAndJoinsOnlyByAccepting) {
  ASSERT_TRUE(Request("mallory", RequestOp::kGroupCreate, {{"name", "Spam"}, {"members", {"alice"}}}).ok());
  json reply = Reply();
  std::string group = reply["group"];
  EXPECT_EQ(reply["members"], json({"mallory"}));
  EXPECT_EQ(reply["invited"], json({"alice"}));
  ASSERT_EQ(EventsFor("alice").size(), 1u);  // the invitation, in alice's queue only
  EXPECT_EQ(EventsFor("alice")[0]["event"], "invited");
  EXPECT_EQ(EventsFor("alice")[0]["by"], "mallory");
  EXPECT_EQ(Request("alice", RequestOp::kHistory, {{"group", group}}).code(), ErrorCode::kNotFound);
  ASSERT_TRUE(Request("alice", RequestOp::kGroups, json::object()).ok());
  EXPECT_TRUE(Reply()["groups"].empty());
  ASSERT_EQ(Reply()["invites"].size(), 1u);
  EXPECT_EQ(Reply()["invites"][0]["group"], group);
  EXPECT_EQ(Reply()["invites"][0]["by"], "mallory");

  ASSERT_TRUE(Request("alice", RequestOp::kGroupJoin, {{"group", group}}).ok());
  EXPECT_EQ(Reply()["members"], json({"alice", "mallory"}));
  EXPECT_EQ(EventsFor("mallory")[0]["event"], "joined");
  EXPECT_EQ(EventsFor("alice")[0]["event"], "joined");
  EXPECT_EQ(Request("alice", RequestOp::kGroupJoin, {{"group", group}}).code(), ErrorCode::kNotFound);  // used up
  ASSERT_TRUE(Request("alice", RequestOp::kHistory, {{"group", group}}).ok());
}

TEST_F(GroupServiceTest, AnInvitationCanBeDeclinedOnAnyDevice) {
  ASSERT_TRUE(Request("mallory", RequestOp::kGroupCreate, {{"name", "Spam"}, {"members", {"alice"}}}).ok());
  std::string group = Reply()["group"];
  ASSERT_TRUE(Request("alice", RequestOp::kGroupDecline, {{"group", group}}).ok());
  EXPECT_EQ(Reply()["type"], "ok");
  ASSERT_EQ(EventsFor("alice").size(), 1u);
  EXPECT_EQ(EventsFor("alice")[0]["event"], "declined");
  EXPECT_TRUE(EventsFor("mallory").empty());
  EXPECT_EQ(Request("alice", RequestOp::kGroupJoin, {{"group", group}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Request("alice", RequestOp::kGroupDecline, {{"group", group}}).code(), ErrorCode::kNotFound);
}

// Issue 18 item 7: a stranger put someone into 500 groups, filling their group cap and their queue.
TEST_F(GroupServiceTest, AStrangerCanNeitherFillSomeonesGroupsNorFloodTheirQueue) {
  limits_.max_pending_invites = 3;
  Restart();
  ASSERT_TRUE(Request("mallory", RequestOp::kGroupCreate, {{"name", "g0"}, {"members", {"alice"}}}).ok());
  for (int i = 1; i < 20; ++i) {
    EXPECT_EQ(Request("mallory", RequestOp::kGroupCreate, {{"name", "g" + std::to_string(i)}, {"members", {"alice"}}}).code(),
              ErrorCode::kNotAllowed);  // one unanswered invitation per inviter: the inviter is stopped
  }
  EXPECT_EQ(Reply()["message"], "alice has not answered your last invitation yet");
  // Her contacts put her in their groups at once.
  for (const char* contact : {"bob", "carol"}) {
    ASSERT_TRUE(Request(contact, RequestOp::kGroupCreate, {{"name", "x"}, {"members", {"alice"}}}).ok());
  }
  ASSERT_TRUE(Request("alice", RequestOp::kSync, {{"after", 0}, {"limit", 100}}).ok());
  EXPECT_EQ(Reply()["events"].size(), 3u);  // one invitation and two groups, whatever mallory tried
  ASSERT_TRUE(Request("alice", RequestOp::kGroups, json::object()).ok());
  EXPECT_EQ(Reply()["groups"].size(), 2u);  // bob's and carol's: contacts add directly
  EXPECT_EQ(Reply()["invites"].size(), 1u);  // mallory's, still waiting
}

TEST_F(GroupServiceTest, TooManyWaitingInvitationsStopTheInviter) {
  limits_.max_pending_invites = 2;
  Restart();
  for (const char* inviter : {"bob", "carol"}) {
    ASSERT_TRUE(Request(inviter, RequestOp::kGroupCreate, {{"name", "x"}, {"members", {"mallory"}}}).ok());
  }
  EXPECT_EQ(Request("dave", RequestOp::kGroupCreate, {{"name", "x"}, {"members", {"mallory"}}}).code(),
            ErrorCode::kNotAllowed);
  EXPECT_EQ(Reply()["message"], "mallory has too many invitations waiting");
  // A server admin adds anyone at once.
  ASSERT_TRUE(Request("root1", RequestOp::kGroupCreate, {{"name", "ops"}, {"members", {"mallory"}}}, true).ok());
  EXPECT_EQ(Reply()["members"], json({"mallory", "root1"}));
}

}  // namespace
}  // namespace chat::core
