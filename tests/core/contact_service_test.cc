#include "core/contact_service.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>

#include "core/account_service.h"
#include "core/chat_service.h"
#include "storage/rocksdb_store.h"
#include "tests/core/service_fixture.h"

namespace chat::core {
namespace {

using nlohmann::json;

class ContactServiceTest : public ServiceFixture {
 protected:
  void SetUp() override {
    CreateUsers({"alice", "bob", "carol"});
  }
  json Contacts(const char* user) {
    EXPECT_TRUE(Request(user, RequestOp::kContacts, json::object()).ok());
    return outbox_.published.back().payload["contacts"];
  }
};

TEST_F(ContactServiceTest, RequestAcceptAndRemoveWithEventsForBothSides) {
  ASSERT_TRUE(Request("alice", RequestOp::kContactRequest, {{"user", "bob"}}).ok());
  ASSERT_EQ(outbox_.published.size(), 3u);  // alice's event, bob's event, the ok reply
  EXPECT_EQ(outbox_.published[0].payload["event"], "outgoing");
  EXPECT_EQ(outbox_.published[1].topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(outbox_.published[1].payload["event"], "incoming");
  EXPECT_EQ(outbox_.published[1].payload["user"], "alice");
  EXPECT_EQ(Contacts("bob"), json::parse(R"([{"user":"alice","state":"incoming"}])"));
  EXPECT_EQ(Request("alice", RequestOp::kContactAccept, {{"user", "bob"}}).code(), ErrorCode::kNotFound);

  ASSERT_TRUE(Request("bob", RequestOp::kContactAccept, {{"user", "alice"}}).ok());
  EXPECT_EQ(outbox_.published[0].payload["event"], "added");
  EXPECT_EQ(Contacts("alice"), json::parse(R"([{"user":"bob","state":"contact"}])"));
  EXPECT_TRUE(service_->presence().MayWatch("alice", "bob"));
  EXPECT_FALSE(service_->presence().MayWatch("carol", "bob"));

  ASSERT_TRUE(Request("alice", RequestOp::kContactRemove, {{"user", "bob"}}).ok());
  EXPECT_EQ(outbox_.published[1].payload["event"], "removed");
  EXPECT_TRUE(Contacts("bob").empty());
  EXPECT_FALSE(service_->presence().MayWatch("alice", "bob"));  // the cached permission went too
}

TEST_F(ContactServiceTest, CrossedRequestsMakeContacts) {
  ASSERT_TRUE(Request("alice", RequestOp::kContactRequest, {{"user", "bob"}}).ok());
  ASSERT_TRUE(Request("bob", RequestOp::kContactRequest, {{"user", "alice"}}).ok());
  EXPECT_EQ(Contacts("alice"), json::parse(R"([{"user":"bob","state":"contact"}])"));
}

TEST_F(ContactServiceTest, BadContactRequests) {
  EXPECT_EQ(Request("alice", RequestOp::kContactRequest, {{"user", "alice"}}).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(Request("alice", RequestOp::kContactRequest, {{"user", "ghost"}}).code(), ErrorCode::kUnknownPeer);
  EXPECT_EQ(Request("alice", RequestOp::kContactRequest, json::object()).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(Request("alice", RequestOp::kContactRemove, {{"user", "carol"}}).code(), ErrorCode::kNotFound);
}

TEST_F(ContactServiceTest, TypingIsEphemeralAndRateLimited) {
  presence_.typing_burst = 2;
  Restart();
  ASSERT_TRUE(Request("alice", RequestOp::kContactRequest, {{"user", "bob"}}).ok());
  ASSERT_TRUE(Request("bob", RequestOp::kContactAccept, {{"user", "alice"}}).ok());
  ASSERT_TRUE(Request("alice", RequestOp::kTyping, {{"to", "bob"}}).ok());
  ASSERT_EQ(outbox_.published.size(), 1u);
  EXPECT_TRUE(outbox_.published[0].ephemeral);
  EXPECT_EQ(outbox_.published[0].topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(outbox_.published[0].payload, json::parse(R"({"type":"typing","from":"alice","to":"bob"})"));
  ASSERT_TRUE(Request("alice", RequestOp::kTyping, {{"to", "bob"}}).ok());
  EXPECT_EQ(Request("alice", RequestOp::kTyping, {{"to", "bob"}}).code(), ErrorCode::kRateLimited);
  ASSERT_TRUE(Request("bob", RequestOp::kSync, {{"after", 2}}).ok());  // after the two contact events
  EXPECT_TRUE(outbox_.published.back().payload["events"].empty());  // never stored
}

TEST_F(ContactServiceTest, TypingReachesOnlyThoseWhoShareTheirPresence) {
  EXPECT_EQ(Request("carol", RequestOp::kTyping, {{"to", "bob"}}).code(), ErrorCode::kNotAllowed);
  ASSERT_EQ(outbox_.published.size(), 1u);  // the error reply, and no typing event for bob
  EXPECT_EQ(outbox_.published[0].payload["code"], "not_allowed");
  ASSERT_TRUE(Request("carol", RequestOp::kContactRequest, {{"user", "bob"}}).ok());
  EXPECT_EQ(Request("carol", RequestOp::kTyping, {{"to", "bob"}}).code(), ErrorCode::kNotAllowed);  // asked only
  ASSERT_TRUE(Request("bob", RequestOp::kContactAccept, {{"user", "carol"}}).ok());
  EXPECT_TRUE(Request("carol", RequestOp::kTyping, {{"to", "bob"}}).ok());
}

TEST_F(ContactServiceTest, PresenceOfConnectedUsersIsRetainedAndQueryable) {
  service_->presence().OnConnected("bob", outbox_);
  ASSERT_EQ(outbox_.published.size(), 1u);
  EXPECT_TRUE(outbox_.published[0].retained);
  EXPECT_EQ(outbox_.published[0].topic, "chat/v1/presence/bob");
  EXPECT_EQ(outbox_.published[0].payload["state"], "online");
  ASSERT_TRUE(Request("alice", RequestOp::kContactRequest, {{"user", "bob"}}).ok());
  ASSERT_TRUE(Request("bob", RequestOp::kContactAccept, {{"user", "alice"}}).ok());
  ASSERT_TRUE(Request("alice", RequestOp::kPresence, {{"users", {"bob", "carol"}}}).ok());
  json users = outbox_.published.back().payload["users"];
  ASSERT_EQ(users.size(), 1u);  // carol is not alice's contact: left out
  EXPECT_EQ(users[0]["user"], "bob");
  EXPECT_EQ(users[0]["state"], "online");
  EXPECT_EQ(users[0]["last_active_at"], clock_.now_ms);
}

}  // namespace
}  // namespace chat::core
