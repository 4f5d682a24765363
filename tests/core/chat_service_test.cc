#include "core/chat_service.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <set>
#include <vector>

#include "core/account_service.h"
#include "storage/rocksdb_store.h"
#include "tests/core/service_fixture.h"

namespace chat::core {
namespace {

using nlohmann::json;


class ChatServiceTest : public ServiceFixture {
 protected:
  void SetUp() override {
    limits_.max_message_chars = 10;
    limits_.max_history_page = 5;
    CreateUsers({"alice", "bob", "carol"});
  }
  json OnlyReply() {
    EXPECT_EQ(outbox_.published.size(), 1u);
    return outbox_.published.empty() ? json() : outbox_.published[0].payload;
  }
  json History(const char* user, json request) {
    EXPECT_TRUE(Request(user, RequestOp::kHistory, request).ok());
    return OnlyReply();
  }
};

TEST_F(ChatServiceTest, SendStoresThenDeliversToBothUsersAndAcksTheSendingDevice) {
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "hi"}, {"cmid", "c1"}}).ok());
  ASSERT_EQ(outbox_.published.size(), 3u);
  const Published to_bob = outbox_.published[0];
  const Published to_alice = outbox_.published[1];
  const Published ack = outbox_.published[2];
  EXPECT_EQ(to_bob.client_id, "");
  EXPECT_EQ(to_bob.topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(to_bob.payload["type"], "message");
  EXPECT_EQ(to_bob.payload["from"], "alice");
  EXPECT_EQ(to_bob.payload["to"], "bob");
  EXPECT_EQ(to_bob.payload["text"], "hi");
  EXPECT_EQ(to_alice.topic, "chat/v1/user/alice/msg");
  EXPECT_EQ(to_alice.payload, to_bob.payload);
  EXPECT_EQ(ack.client_id, "alice:phone");
  EXPECT_EQ(ack.topic, "chat/v1/user/alice/reply");
  EXPECT_EQ(ack.payload["type"], "ack");
  EXPECT_EQ(ack.payload["cmid"], "c1");
  EXPECT_EQ(ack.payload["id"], to_bob.payload["id"]);

  json page = History("bob", {{"peer", "alice"}});
  ASSERT_EQ(page["messages"].size(), 1u);
  EXPECT_EQ(page["messages"][0]["id"], ack.payload["id"]);
}

TEST_F(ChatServiceTest, SenderComesFromTheLoginNotThePayload) {
  ASSERT_TRUE(Request("carol", RequestOp::kSend, json{{"to", "bob"}, {"text", "hi"}, {"from", "alice"}}).ok());
  EXPECT_EQ(outbox_.published[0].payload["from"], "carol");
}

TEST_F(ChatServiceTest, RetryWithTheSameCmidStoresOnceAndAcksTheSameId) {
  json send = {{"to", "bob"}, {"text", "hi"}, {"cmid", "c1"}};
  ASSERT_TRUE(Request("alice", RequestOp::kSend, send).ok());
  json first_ack = outbox_.published.back().payload;
  ASSERT_TRUE(Request("alice", RequestOp::kSend, send).ok());
  json retry_ack = OnlyReply();  // no message events the second time
  EXPECT_EQ(retry_ack["id"], first_ack["id"]);
  EXPECT_EQ(retry_ack["ts"], first_ack["ts"]);
  EXPECT_EQ(retry_ack["duplicate"], true);
  EXPECT_EQ(History("alice", {{"peer", "bob"}})["messages"].size(), 1u);
  // The same cmid from another sender is another message.
  ASSERT_TRUE(Request("carol", RequestOp::kSend, send).ok());
  EXPECT_EQ(outbox_.published.size(), 3u);
}

TEST_F(ChatServiceTest, TextAtTheLimitPassesAndOneMoreIsRefused) {
  EXPECT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "\xC3\xA9" "123456789"}}).ok());
  Status status = Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "12345678901"}, {"cmid", "c2"}});
  EXPECT_EQ(status.code(), ErrorCode::kTooLong);
  json error = OnlyReply();
  EXPECT_EQ(error["type"], "error");
  EXPECT_EQ(error["code"], "too_long");
  EXPECT_EQ(error["cmid"], "c2");
  EXPECT_EQ(outbox_.published[0].client_id, "alice:phone");
  EXPECT_EQ(History("alice", {{"peer", "bob"}})["messages"].size(), 1u);
}

TEST_F(ChatServiceTest, EachClassOfBadInputGetsItsOwnErrorAndStoresNothing) {
  struct Case {
    std::string payload;
    const char* code;
  };
  const Case cases[] = {
      {"{\"to\":\"bob\",\"text\":\"\xFF\",\"cmid\":\"u\"}", "bad_utf8"},
      {"{\"to\":\"bob\",\"text\":\"\\ud800\",\"cmid\":\"u\"}", "bad_request"},  // lone surrogate escape
      {"not json", "bad_request"},
      {"[1,2]", "bad_request"},
      {"{\"to\":\"bob\"}", "bad_request"},
      {"{\"to\":\"bob\",\"text\":\"\"}", "bad_request"},
      {"{\"to\":\"bob\",\"text\":5}", "bad_request"},
      {"{\"to\":\"bob\",\"text\":\"x\",\"cmid\":\"has space\"}", "bad_request"},
      {"{\"to\":\"nobody\",\"text\":\"x\"}", "unknown_peer"},
      {"{\"to\":\"../bob\",\"text\":\"x\"}", "unknown_peer"},
      {"{\"to\":\"bob/#\",\"text\":\"x\"}", "unknown_peer"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(Request("alice", RequestOp::kSend, c.payload).ok()) << c.payload;
    json error = OnlyReply();
    EXPECT_EQ(error["type"], "error") << c.payload;
    EXPECT_EQ(error["code"], c.code) << c.payload;
    EXPECT_EQ(error["op"], "send");
  }
  EXPECT_EQ(History("alice", {{"peer", "bob"}})["messages"].size(), 0u);
}

TEST_F(ChatServiceTest, ErrorsEchoTheRequestIdEvenForInvalidUtf8) {
  EXPECT_FALSE(Request("alice", RequestOp::kSend, std::string("{\"rid\":\"r9\",\"to\":\"bob\",\"text\":\"\xC3\"}")).ok());
  EXPECT_EQ(OnlyReply()["code"], "bad_utf8");
}

TEST_F(ChatServiceTest, SendingFasterThanTheRateIsRefused) {
  limits_.send_rate_per_second = 1;
  limits_.send_burst = 3;
  Restart();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "x"}}).ok());
  EXPECT_EQ(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "x"}}).code(), ErrorCode::kRateLimited);
  EXPECT_TRUE(Request("bob", RequestOp::kSend, json{{"to", "alice"}, {"text", "x"}}).ok());  // per user
  clock_.Advance(1000);
  EXPECT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "x"}}).ok());
}

TEST_F(ChatServiceTest, HistoryPagesBackwardAndForward) {
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    clock_.Advance(1);
    const char* from = i % 2 ? "bob" : "alice";
    const char* to = i % 2 ? "alice" : "bob";
    ASSERT_TRUE(Request(from, RequestOp::kSend, json{{"to", to}, {"text", std::to_string(i)}}).ok());
    ids.push_back(outbox_.published.back().payload["id"]);
  }
  Status other = Request("carol", RequestOp::kSend, json{{"to", "alice"}, {"text", "other chat"}});
  ASSERT_TRUE(other.ok()) << other.ToString();

  json newest = History("alice", {{"peer", "bob"}, {"limit", 5}});
  ASSERT_EQ(newest["messages"].size(), 5u);
  EXPECT_EQ(newest["messages"][0]["text"], "11");
  EXPECT_EQ(newest["messages"][4]["text"], "7");
  EXPECT_TRUE(newest["more"]);

  json older = History("alice", {{"peer", "bob"}, {"limit", 100}, {"before", ids[7]}});
  ASSERT_EQ(older["messages"].size(), 5u);  // capped at max_history_page
  EXPECT_EQ(older["messages"][0]["text"], "6");
  EXPECT_TRUE(older["more"]);
  json oldest = History("alice", {{"peer", "bob"}, {"before", ids[2]}});
  ASSERT_EQ(oldest["messages"].size(), 2u);
  EXPECT_FALSE(oldest["more"]);

  json forward = History("bob", {{"peer", "alice"}, {"after", ids[3]}, {"order", "oldest_first"}, {"limit", 3}});
  ASSERT_EQ(forward["messages"].size(), 3u);
  EXPECT_EQ(forward["messages"][0]["text"], "4");
  EXPECT_EQ(forward["messages"][2]["text"], "6");
  EXPECT_TRUE(forward["more"]);

  json window = History("bob", {{"peer", "alice"}, {"after", ids[3]}, {"before", ids[6]}, {"order", "oldest_first"}});
  ASSERT_EQ(window["messages"].size(), 2u);
  EXPECT_FALSE(window["more"]);
}

TEST_F(ChatServiceTest, HistoryOnlyEverShowsTheCallersOwnConversation) {
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "private"}}).ok());
  EXPECT_EQ(History("carol", {{"peer", "bob"}})["messages"].size(), 0u);
  EXPECT_EQ(History("carol", {{"peer", "alice"}})["messages"].size(), 0u);
}

TEST_F(ChatServiceTest, BadHistoryRequestsAreRefused) {
  for (json bad : {json{{"peer", 3}}, json{{"peer", "bob"}, {"before", 5}}, json{{"peer", "bob"}, {"before", "x"}},
                   json{{"peer", "bob"}, {"limit", 0}}, json{{"peer", "bob"}, {"order", "sideways"}}}) {
    EXPECT_EQ(Request("alice", RequestOp::kHistory, bad).code(), ErrorCode::kBadRequest) << bad;
    EXPECT_EQ(OnlyReply()["op"], "history");
  }
  EXPECT_EQ(Request("alice", RequestOp::kHistory, json{{"peer", "ghost"}}).code(), ErrorCode::kUnknownPeer);
}

TEST_F(ChatServiceTest, EveryMessageTakesTheNextSeqInEachUsersQueue) {
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "1"}}).ok());
  EXPECT_EQ(outbox_.published[0].payload["seq"], 1);  // bob's queue
  EXPECT_EQ(outbox_.published[1].payload["seq"], 1);  // alice's queue
  ASSERT_TRUE(Request("carol", RequestOp::kSend, json{{"to", "bob"}, {"text", "2"}}).ok());
  EXPECT_EQ(outbox_.published[0].payload["seq"], 2);
  EXPECT_EQ(outbox_.published[1].payload["seq"], 1);
  ASSERT_TRUE(Request("bob", RequestOp::kSend, json{{"to", "alice"}, {"text", "3"}}).ok());
  EXPECT_EQ(outbox_.published[0].payload["seq"], 2);  // alice
  EXPECT_EQ(outbox_.published[1].payload["seq"], 3);  // bob

  // A new service on the same store (a broker restart) continues the numbering.
  Restart();
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "4"}}).ok());
  EXPECT_EQ(outbox_.published[0].payload["seq"], 4);
}

TEST_F(ChatServiceTest, SyncReturnsExactlyWhatWasPublishedInPages) {
  std::vector<json> live;
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(Request(i % 2 ? "carol" : "alice", RequestOp::kSend, json{{"to", "bob"}, {"text", std::to_string(i)}}).ok());
    live.push_back(outbox_.published[0].payload);
  }
  std::vector<json> synced;
  json request = {{"after", 0}, {"limit", 3}, {"rid", "s"}};
  for (int page = 0; page < 5; ++page) {
    ASSERT_TRUE(Request("bob", RequestOp::kSync, request).ok());
    json reply = OnlyReply();
    EXPECT_EQ(reply["type"], "sync");
    EXPECT_EQ(reply["last_seq"], 7);
    for (const json& e : reply["events"]) synced.push_back(e);
    if (!reply["more"].get<bool>()) break;
    request["after"] = synced.back()["seq"];
  }
  EXPECT_EQ(synced, live);
  ASSERT_TRUE(Request("bob", RequestOp::kSync, json{{"after", 7}}).ok());
  json empty = OnlyReply();
  EXPECT_TRUE(empty["events"].empty());
  EXPECT_FALSE(empty["more"]);
  EXPECT_EQ(Request("bob", RequestOp::kSync, json{{"after", -1}}).code(), ErrorCode::kBadRequest);
}

TEST_F(ChatServiceTest, ReadMarksMoveForwardOnlyAndReachTheUsersQueue) {
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "a"}}).ok());
  std::string first = outbox_.published[0].payload["id"];
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "b"}}).ok());
  std::string second = outbox_.published[0].payload["id"];

  ASSERT_TRUE(Request("bob", RequestOp::kConversations, json::object()).ok());
  json list = OnlyReply()["conversations"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["peer"], "alice");
  EXPECT_EQ(list[0]["unread"], 2);
  EXPECT_EQ(list[0]["last_id"], second);

  ASSERT_TRUE(Request("bob", RequestOp::kRead, json{{"peer", "alice"}, {"up_to", first}}).ok());
  ASSERT_EQ(outbox_.published.size(), 2u);  // the read event on bob's topic, then the ok reply
  EXPECT_EQ(outbox_.published[0].topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(outbox_.published[0].payload["type"], "read");
  EXPECT_EQ(outbox_.published[0].payload["up_to"], first);
  EXPECT_EQ(outbox_.published[0].payload["seq"], 3);
  EXPECT_EQ(outbox_.published[1].payload["type"], "ok");
  ASSERT_TRUE(Request("bob", RequestOp::kRead, json{{"peer", "alice"}, {"up_to", first}}).ok());
  EXPECT_EQ(OnlyReply()["type"], "ok");  // no move, no event

  ASSERT_TRUE(Request("bob", RequestOp::kConversations, json::object()).ok());
  EXPECT_EQ(OnlyReply()["conversations"][0]["unread"], 1);
  ASSERT_TRUE(Request("alice", RequestOp::kConversations, json::object()).ok());
  EXPECT_EQ(OnlyReply()["conversations"][0]["unread"], 0);  // her own messages are not unread
}

}  // namespace
}  // namespace chat::core

namespace chat::core {
namespace {

// Pages stop at limits.max_reply_bytes (always holding one entry) and say "more"; paging on still
// reaches every entry exactly once.
// The request table: every request type reaches a handler of its own (an empty payload is at worst
// refused for what it lacks, never as an unknown request), and each error names its op.
TEST_F(ChatServiceTest, EveryRequestTypeHasAHandler) {
  for (std::size_t i = 1; i <= kRequestOpCount; ++i) {
    auto op = static_cast<RequestOp>(i);
    clock_.Advance(10000);  // stay within the request rate
    Status status = Request("alice", op, std::string("{}"));
    if (op == RequestOp::kHeartbeat || op == RequestOp::kTyping) continue;  // no reply on success
    ASSERT_FALSE(outbox_.published.empty()) << RequestOpName(op);
    const nlohmann::json& reply = outbox_.published.back().payload;
    EXPECT_EQ(status.ok(), reply["type"] != "error") << RequestOpName(op);
    if (status.ok()) continue;
    EXPECT_EQ(reply["op"], RequestOpName(op));
    EXPECT_NE(reply["message"], "unknown request") << RequestOpName(op);
  }
  EXPECT_EQ(Request("alice", RequestOp::kUnknown, std::string("{}")).code(), ErrorCode::kBadRequest);
}

class ReplyBudgetTest : public ServiceFixture {
 protected:
  void SetUp() override {
    limits_.max_message_chars = 10000;
    limits_.max_reply_bytes = 16384;
    CreateUsers({"alice", "bob"});
    text_ = std::string(6000, 'x');
    for (int i = 0; i < 7; ++i) {
      ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", text_}, {"cmid", "c" + std::to_string(i)}}).ok());
    }
  }
  json Reply(const char* user, RequestOp op, const json& request) {
    EXPECT_TRUE(Request(user, op, request).ok());
    return outbox_.published.empty() ? json() : outbox_.published.back().payload;
  }
  std::string text_;
};

TEST_F(ReplyBudgetTest, HistoryPagesStopAtTheByteBudget) {
  std::set<std::string> seen;
  json request = {{"peer", "alice"}, {"limit", 100}};
  for (int page = 0; page < 10; ++page) {
    json reply = Reply("bob", RequestOp::kHistory, request);
    ASSERT_EQ(reply["type"], "history");
    EXPECT_LE(reply.dump().size(), 16384u + 6200u);  // within the budget plus at most one message
    EXPECT_LE(reply["messages"].size(), 3u);
    for (const json& m : reply["messages"]) EXPECT_TRUE(seen.insert(m["id"].get<std::string>()).second);
    if (!reply["more"].get<bool>()) break;
    request["before"] = reply["messages"].back()["id"];
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST_F(ReplyBudgetTest, SyncPagesStopAtTheByteBudgetWithoutGaps) {
  std::uint64_t after = 0;
  for (int page = 0; page < 10; ++page) {
    json reply = Reply("bob", RequestOp::kSync, {{"after", after}, {"limit", 500}});
    ASSERT_EQ(reply["type"], "sync");
    EXPECT_GE(reply["events"].size(), 1u);
    EXPECT_LE(reply["events"].size(), 3u);
    for (const json& e : reply["events"]) EXPECT_EQ(e["seq"].get<std::uint64_t>(), ++after);
    if (!reply["more"].get<bool>()) break;
  }
  EXPECT_EQ(after, 7u);
}

TEST_F(ReplyBudgetTest, OneEntryLargerThanTheBudgetStillMakesAPage) {
  limits_.max_message_chars = 40000;
  Restart();
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", std::string(30000, 'y')}}).ok());
  json reply = Reply("bob", RequestOp::kHistory, {{"peer", "alice"}});
  ASSERT_EQ(reply["messages"].size(), 1u);
  EXPECT_TRUE(reply["more"].get<bool>());
}

TEST_F(ReplyBudgetTest, ConversationPagesCarryACursorAndCoverEveryConversationOnce) {
  limits_.max_reply_bytes = 16384;
  std::vector<std::string> peers;
  AuthSettings auth;
  auth.pbkdf2_iterations = 1000;
  AccountService accounts(*store_, clock_, auth);
  for (int i = 0; i < 300; ++i) {
    peers.push_back("peer" + std::to_string(i));
    ASSERT_TRUE(accounts.AddUser(peers.back(), "pw", false).ok());
    ASSERT_TRUE(Request(peers.back().c_str(), RequestOp::kSend, json{{"to", "alice"}, {"text", "hi"}}).ok());
  }
  std::set<std::string> seen;
  json request = json::object();
  int pages = 0;
  for (; pages < 50; ++pages) {
    json reply = Reply("alice", RequestOp::kConversations, request);
    ASSERT_EQ(reply["type"], "conversations");
    EXPECT_LE(reply.dump().size(), 16384u + 200u);
    for (const json& c : reply["conversations"]) EXPECT_TRUE(seen.insert(c["peer"].get<std::string>()).second);
    if (!reply["more"].get<bool>()) break;
    request["before"] = reply["next_before"];
  }
  EXPECT_GE(pages, 1);  // at least two pages were asked for
  EXPECT_EQ(seen.size(), 301u);  // the 300 peers and bob
}

TEST_F(ReplyBudgetTest, UnreadCountingStopsAtTheScanBudgetAndSaysSo) {
  json reply = Reply("bob", RequestOp::kConversations, json::object());
  ASSERT_EQ(reply["conversations"].size(), 1u);
  // 7 messages of 6000 bytes: the scan stops after the budget (16 KiB) is read.
  EXPECT_EQ(reply["conversations"][0]["unread"], 3);
  EXPECT_EQ(reply["conversations"][0]["unread_capped"], true);
  limits_.max_reply_bytes = 1 << 20;
  Restart();
  reply = Reply("bob", RequestOp::kConversations, json::object());
  EXPECT_EQ(reply["conversations"][0]["unread"], 7);
  EXPECT_FALSE(reply["conversations"][0].contains("unread_capped"));
}

}  // namespace
}  // namespace chat::core

namespace chat::core {
namespace {

class EraseAccountTest : public ServiceFixture {
 protected:
  void SetUp() override { CreateUsers({"zed", "yara"}); }
  json Last() { return outbox_.published.back().payload; }
};

TEST_F(EraseAccountTest, ARecreatedNameSeesNothingOfItsPredecessor) {
  ASSERT_TRUE(Request("zed", RequestOp::kSend, json{{"to", "yara"}, {"text", "old"}, {"cmid", "c1"}}).ok());
  ASSERT_TRUE(service_->EraseAccount("zed", outbox_).ok());
  ASSERT_TRUE(store_->DeleteUser("zed").ok());
  AuthSettings auth;
  auth.pbkdf2_iterations = 1000;
  ASSERT_TRUE(AccountService(*store_, clock_, auth).AddUser("zed", "new", false).ok());
  MessageId floor = store_->GetUser("zed")->history_floor;
  EXPECT_GT(floor, 0u);
  Caller fresh{"zed", "zed:phone", false, floor};
  outbox_.published.clear();
  ASSERT_TRUE(service_->Handle(fresh, RequestOp::kHistory, R"({"peer":"yara"})", outbox_).ok());
  EXPECT_TRUE(Last()["messages"].empty());
  ASSERT_TRUE(service_->Handle(fresh, RequestOp::kConversations, "{}", outbox_).ok());
  EXPECT_TRUE(Last()["conversations"].empty());
  ASSERT_TRUE(service_->Handle(fresh, RequestOp::kSend, R"({"to":"yara","text":"new","cmid":"c1"})", outbox_).ok());
  EXPECT_FALSE(Last().contains("duplicate"));  // the old account's cmid does not count
  ASSERT_TRUE(service_->Handle(fresh, RequestOp::kHistory, R"({"peer":"yara"})", outbox_).ok());
  ASSERT_EQ(Last()["messages"].size(), 1u);
  EXPECT_EQ(Last()["messages"][0]["text"], "new");
  // yara, whose history it is too, still reads both.
  ASSERT_TRUE(Request("yara", RequestOp::kHistory, json{{"peer", "zed"}}).ok());
  EXPECT_EQ(Last()["messages"].size(), 2u);
}

TEST_F(ChatServiceTest, ASenderChangesAMessageUpToTheEndOfTheEditWindowAndNotAMillisecondLater) {
  limits_.edit_window_seconds = 60;
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "one"}}).ok());
  std::string id = outbox_.published.back().payload["id"];
  clock_.Advance(60 * 1000);  // the message's ts is its id's time: exactly the window later now
  ASSERT_TRUE(Request("alice", RequestOp::kEdit, json{{"peer", "bob"}, {"id", id}, {"text", "two"}}).ok());
  EXPECT_EQ(outbox_.published.back().payload["type"], "ok");
  clock_.Advance(1);
  Status late = Request("alice", RequestOp::kEdit, json{{"peer", "bob"}, {"id", id}, {"text", "three"}});
  EXPECT_EQ(late.code(), ErrorCode::kNotAllowed);
  EXPECT_EQ(Request("alice", RequestOp::kDelete, json{{"peer", "bob"}, {"id", id}}).code(), ErrorCode::kNotAllowed);
  // The edited text follows the send's length limit (10 here).
  ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", "x"}}).ok());
  std::string fresh = outbox_.published.back().payload["id"];
  EXPECT_EQ(Request("alice", RequestOp::kEdit, json{{"peer", "bob"}, {"id", fresh}, {"text", "12345678901"}}).code(),
            ErrorCode::kTooLong);
  EXPECT_TRUE(Request("alice", RequestOp::kEdit, json{{"peer", "bob"}, {"id", fresh}, {"text", "1234567890"}}).ok());
  json page = History("bob", {{"peer", "alice"}});
  EXPECT_EQ(page["messages"][0]["text"], "1234567890");
  EXPECT_EQ(page["messages"][1]["text"], "two");
  // With no window at all nothing can be changed.
  limits_.edit_window_seconds = 0;
  EXPECT_EQ(Request("alice", RequestOp::kDelete, json{{"peer", "bob"}, {"id", fresh}}).code(), ErrorCode::kNotAllowed);
}

TEST_F(ChatServiceTest, AWindowAroundAMessageIsCappedByThePageLimitOnEachSide) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Request("alice", RequestOp::kSend, json{{"to", "bob"}, {"text", std::to_string(i)}}).ok());
    ids.push_back(outbox_.published.back().payload["id"]);
  }
  // max_history_page is 5 here: 5 + the message + 5, whatever the limit asked.
  json window = History("bob", {{"peer", "alice"}, {"around", ids[10]}, {"limit", 50}});
  ASSERT_EQ(window["messages"].size(), 11u) << window.dump();
  EXPECT_EQ(window["messages"][0]["text"], "5");
  EXPECT_EQ(window["messages"][10]["text"], "15");
  EXPECT_EQ(window["more_before"], true);
  EXPECT_EQ(window["more_after"], true);
  window = History("bob", {{"peer", "alice"}, {"around", ids[19]}, {"limit", 1}});
  ASSERT_EQ(window["messages"].size(), 2u);
  EXPECT_EQ(window["more_after"], false);
  // Someone outside the conversation cannot reach its messages by id.
  EXPECT_EQ(Request("carol", RequestOp::kHistory, json{{"peer", "bob"}, {"around", ids[3]}}).code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(Request("carol", RequestOp::kDelete, json{{"peer", "alice"}, {"id", ids[3]}}).code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace chat::core
