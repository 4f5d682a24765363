// protocol_format: what each builder writes (parsed back and compared field by field), how odd text is
// escaped, WithSeq, and RequestFields reading requests: bounds, UTF-8, tags, typed fields.
#include "core/protocol_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/message_id.h"

namespace chat::core {
namespace {

using nlohmann::json;

json Parsed(const std::string& text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(value.is_discarded()) << "not JSON: " << text;
  return value;
}

RequestBounds Bounds(bool is_send = false) { return RequestBoundsFor(is_send, Limits{}); }

StoredMessage DirectMessage() {
  StoredMessage m;
  m.id = 384000000000000001ULL;
  m.from = "alice";
  m.to = "bob";
  m.text = "hello";
  m.created_at_ms = 1795000000123;
  m.client_message_id = "c1";
  return m;
}

StoredMessage GroupMessage() {
  StoredMessage m;
  m.id = 384000000000000002ULL;
  m.from = "carol";
  m.group_id = "384000000000000777";
  m.text = "hi all";
  m.created_at_ms = 1795000000456;
  return m;
}

GroupRecord Group() { return {"384000000000000777", "Team", "alice", 1795000000000}; }

// --- Builders ------------------------------------------------------------------------------------------

TEST(ProtocolFormatTest, MessageJsonOfADirectMessage) {
  EXPECT_EQ(Parsed(MessageJson(DirectMessage())),
            (json{{"id", "384000000000000001"}, {"from", "alice"}, {"to", "bob"}, {"text", "hello"},
                  {"ts", 1795000000123}, {"cmid", "c1"}}));
}

TEST(ProtocolFormatTest, MessageJsonOfAGroupMessageHasGroupNotToAndNoEmptyCmid) {
  json m = Parsed(MessageJson(GroupMessage()));
  EXPECT_EQ(m, (json{{"id", "384000000000000002"}, {"from", "carol"}, {"group", "384000000000000777"},
                     {"text", "hi all"}, {"ts", 1795000000456}}));
  EXPECT_FALSE(m.contains("to"));
  EXPECT_FALSE(m.contains("cmid"));
}

TEST(ProtocolFormatTest, MessageEventIsTheMessageWithItsType) {
  json expected = Parsed(MessageJson(DirectMessage()));
  expected["type"] = "message";
  EXPECT_EQ(Parsed(MessageEventJson(DirectMessage())), expected);
  EXPECT_FALSE(Parsed(MessageEventJson(DirectMessage())).contains("seq"));
}

TEST(ProtocolFormatTest, GroupEventListsUsersOnlyWhenThereAreSome) {
  EXPECT_EQ(Parsed(GroupEventJson(Group(), "added", "alice", {"bob", "carol"}, 42)),
            (json{{"type", "group"}, {"group", "384000000000000777"}, {"event", "added"}, {"by", "alice"},
                  {"name", "Team"}, {"ts", 42}, {"users", {"bob", "carol"}}}));
  EXPECT_FALSE(Parsed(GroupEventJson(Group(), "renamed", "alice", {}, 42)).contains("users"));
}

TEST(ProtocolFormatTest, ReadEventNamesThePeerOrTheGroup) {
  EXPECT_EQ(Parsed(ReadEventJson(Conversation::Direct("alice", "bob"), "bob", 384000000000000001ULL, 7)),
            (json{{"type", "read"}, {"up_to", "384000000000000001"}, {"ts", 7}, {"peer", "bob"}}));
  json group = Parsed(ReadEventJson(Conversation::Group("384000000000000777"), "ignored", 5, 8));
  EXPECT_EQ(group, (json{{"type", "read"}, {"up_to", FormatMessageId(5)}, {"ts", 8}, {"group", "384000000000000777"}}));
}

TEST(ProtocolFormatTest, ContactAndTypingEvents) {
  EXPECT_EQ(Parsed(ContactEventJson("incoming", "bob", 9)),
            (json{{"type", "contact"}, {"event", "incoming"}, {"user", "bob"}, {"ts", 9}}));
  EXPECT_EQ(Parsed(TypingEventJson("alice", Conversation::Direct("alice", "bob"), "bob")),
            (json{{"type", "typing"}, {"from", "alice"}, {"to", "bob"}}));
  EXPECT_EQ(Parsed(TypingEventJson("alice", Conversation::Group("g1"), "")),
            (json{{"type", "typing"}, {"from", "alice"}, {"group", "g1"}}));
}

TEST(ProtocolFormatTest, PresenceAndPresenceList) {
  EXPECT_EQ(Parsed(PresenceJson({"bob", true, 123})),
            (json{{"type", "presence"}, {"user", "bob"}, {"state", "online"}, {"last_active_at", 123}}));
  EXPECT_EQ(Parsed(PresenceJson({"bob", false, 0}))["state"], "offline");
  json list = Parsed(PresenceListJson({"r1", ""}, {{"bob", true, 1}, {"carol", false, 2}}));
  EXPECT_EQ(list, (json{{"type", "presence"},
                        {"rid", "r1"},
                        {"users",
                         {{{"user", "bob"}, {"state", "online"}, {"last_active_at", 1}},
                          {{"user", "carol"}, {"state", "offline"}, {"last_active_at", 2}}}}}));
}

TEST(ProtocolFormatTest, RepliesCarryTheTagOnlyWhenGiven) {
  EXPECT_EQ(Parsed(OkJson("contact_accept", {"r7", ""})), (json{{"type", "ok"}, {"op", "contact_accept"}, {"rid", "r7"}}));
  json bare = Parsed(OkJson("bye", {}));
  EXPECT_EQ(bare, (json{{"type", "ok"}, {"op", "bye"}}));
  EXPECT_EQ(Parsed(SendAckJson({"r1", "c1"}, DirectMessage(), false, 7)),
            (json{{"type", "ack"}, {"op", "send"}, {"id", "384000000000000001"}, {"ts", 1795000000123}, {"seq", 7},
                  {"rid", "r1"}, {"cmid", "c1"}}));
  json duplicate = Parsed(SendAckJson({"", "c1"}, DirectMessage(), true, 0));
  EXPECT_EQ(duplicate["duplicate"], true);
  EXPECT_FALSE(duplicate.contains("seq"));
  EXPECT_FALSE(Parsed(SendAckJson({"", "c1"}, DirectMessage(), false, 7)).contains("duplicate"));
}

TEST(ProtocolFormatTest, ErrorNamesTheCodeOnTheWire) {
  EXPECT_EQ(Parsed(ErrorJson("send", {"", "c9"}, Status::Error(ErrorCode::kTooLong, "text is too long"))),
            (json{{"type", "error"}, {"op", "send"}, {"code", "too_long"}, {"message", "text is too long"},
                  {"cmid", "c9"}}));
  EXPECT_EQ(Parsed(ErrorJson("x", {}, Status::Error(ErrorCode::kIoError, "disk")))["code"], "storage_error");
}

TEST(ProtocolFormatTest, HistorySplicesTheRenderedMessagesInOrder) {
  std::vector<std::string> messages = {MessageJson(DirectMessage()), MessageJson(GroupMessage())};
  json history = Parsed(HistoryJson({"h1", ""}, Conversation::Direct("alice", "bob"), "bob", messages, true));
  EXPECT_EQ(history["type"], "history");
  EXPECT_EQ(history["more"], true);
  EXPECT_EQ(history["peer"], "bob");
  EXPECT_EQ(history["rid"], "h1");
  ASSERT_EQ(history["messages"].size(), 2u);
  EXPECT_EQ(history["messages"][0], Parsed(messages[0]));
  EXPECT_EQ(history["messages"][1], Parsed(messages[1]));
  json empty = Parsed(HistoryJson({}, Conversation::Group("g1"), "", {}, false));
  EXPECT_EQ(empty, (json{{"type", "history"}, {"more", false}, {"group", "g1"}, {"messages", json::array()}}));
}

TEST(ProtocolFormatTest, SyncCarriesLastSeqTruncatedAndTheEvents) {
  QueuePage page;
  page.last_seq = 12;
  page.truncated = true;
  std::vector<std::string> events = {WithSeq(MessageEventJson(DirectMessage()), 11),
                                     WithSeq(ContactEventJson("added", "bob", 3), 12)};
  json sync = Parsed(SyncJson({"s1", ""}, events, page, false));
  EXPECT_EQ(sync["type"], "sync");
  EXPECT_EQ(sync["more"], false);
  EXPECT_EQ(sync["last_seq"], 12);
  EXPECT_EQ(sync["truncated"], true);
  ASSERT_EQ(sync["events"].size(), 2u);
  EXPECT_EQ(sync["events"][0]["seq"], 11);
  EXPECT_EQ(sync["events"][1]["seq"], 12);
  page.truncated = false;
  EXPECT_FALSE(Parsed(SyncJson({}, {}, page, true)).contains("truncated"));
  EXPECT_EQ(Parsed(SyncJson({}, {}, page, true))["events"], json::array());
}

TEST(ProtocolFormatTest, GroupAndGroupsReplies) {
  json group = Parsed(GroupJson({"g", ""}, Group(), {{"alice", 1}, {"bob", 2}}, {"erin"}));
  EXPECT_EQ(group, (json{{"type", "group"}, {"group", "384000000000000777"}, {"name", "Team"}, {"owner", "alice"},
                         {"members", {"alice", "bob"}}, {"invited", {"erin"}}, {"rid", "g"}}));
  EXPECT_FALSE(Parsed(GroupJson({}, Group(), {})).contains("invited"));
  EXPECT_EQ(Parsed(GroupJson({}, Group(), {}))["members"], json::array());

  GroupInvite invite{"g2", "bob", "carol", 55};
  json groups = Parsed(GroupsJson({}, {{Group(), 3}}, {{invite, "Other"}}));
  EXPECT_EQ(groups, (json{{"type", "groups"},
                          {"groups", {{{"group", "384000000000000777"}, {"name", "Team"}, {"owner", "alice"}, {"members", 3}}}},
                          {"invites", {{{"group", "g2"}, {"name", "Other"}, {"by", "carol"}, {"ts", 55}}}}}));
}

TEST(ProtocolFormatTest, ContactsNameEveryState) {
  json contacts = Parsed(ContactsJson({}, {{"bob", ContactState::kContact},
                                           {"carol", ContactState::kOutgoing},
                                           {"dave", ContactState::kIncoming},
                                           {"erin", ContactState::kNone}}));
  EXPECT_EQ(contacts["type"], "contacts");
  EXPECT_EQ(contacts["contacts"], (json{{{"user", "bob"}, {"state", "contact"}},
                                        {{"user", "carol"}, {"state", "outgoing"}},
                                        {{"user", "dave"}, {"state", "incoming"}},
                                        {{"user", "erin"}, {"state", "none"}}}));
}

TEST(ProtocolFormatTest, ConversationsEntriesAndPaging) {
  ConversationSummary direct;
  direct.conversation = Conversation::Direct("alice", "bob");
  direct.peer = "bob";
  direct.last_id = 9;
  direct.read_up_to = 7;
  direct.unread = {2, true, 0};
  EXPECT_EQ(Parsed(ConversationJson(direct)),
            (json{{"last_id", FormatMessageId(9)}, {"read_up_to", FormatMessageId(7)}, {"unread", 2}, {"peer", "bob"}}));

  ConversationSummary group;
  group.conversation = Conversation::Group("g1");
  group.name = "Team";
  group.unread = {500, false, 0};
  EXPECT_EQ(Parsed(ConversationJson(group)),
            (json{{"last_id", FormatMessageId(0)}, {"read_up_to", FormatMessageId(0)}, {"unread", 500},
                  {"unread_capped", true}, {"group", "g1"}, {"name", "Team"}}));

  json page = Parsed(ConversationsJson({"c", ""}, {ConversationJson(direct)}, 384000000000000005ULL));
  EXPECT_EQ(page["more"], true);
  EXPECT_EQ(page["next_before"], "384000000000000005");
  EXPECT_EQ(page["conversations"][0], Parsed(ConversationJson(direct)));
  json last = Parsed(ConversationsJson({}, {}, 0));
  EXPECT_EQ(last, (json{{"type", "conversations"}, {"more", false}, {"conversations", json::array()}}));
}

// --- Escaping --------------------------------------------------------------------------------------------

TEST(ProtocolFormatTest, OddTextIsEscapedAndComesBackUnchanged) {
  StoredMessage m = DirectMessage();
  m.text = std::string("quote \" backslash \\ slash / newline \n tab \t nul ") + '\0' + " bell \x07 emoji \xF0\x9F\x98\x80 "
           "accents \xC3\xA9\xC3\xA0 </script>";
  std::string text = MessageEventJson(m);
  EXPECT_EQ(Parsed(text)["text"], m.text);
  EXPECT_EQ(text.find('\n'), std::string::npos) << "a raw newline in: " << text;
  EXPECT_NE(text.find("\\u0000"), std::string::npos) << text;
  EXPECT_NE(text.find("\\u0007"), std::string::npos) << text;
  EXPECT_NE(text.find("\xF0\x9F\x98\x80"), std::string::npos) << "non-ASCII is kept as UTF-8: " << text;
}

TEST(ProtocolFormatTest, InvalidUtf8InStoredTextIsReplacedNotThrown) {
  StoredMessage m = DirectMessage();
  m.text = "bad \xFF byte";
  std::string text;
  ASSERT_NO_THROW(text = MessageJson(m));
  EXPECT_EQ(Parsed(text)["text"], "bad \xEF\xBF\xBD byte");
}

// --- WithSeq ---------------------------------------------------------------------------------------------

TEST(ProtocolFormatTest, WithSeqPutsSeqFirst) {
  EXPECT_EQ(WithSeq(R"({"type":"x"})", 5), R"({"seq":5,"type":"x"})");
  EXPECT_EQ(WithSeq("{}", 18446744073709551615ULL), R"({"seq":18446744073709551615})");
  json event = Parsed(WithSeq(GroupEventJson(Group(), "created", "alice", {"bob"}, 1), 77));
  json expected = Parsed(GroupEventJson(Group(), "created", "alice", {"bob"}, 1));
  expected["seq"] = 77;
  EXPECT_EQ(event, expected);
}

// --- RequestFields ---------------------------------------------------------------------------------------

TEST(ProtocolFormatTest, RequestFieldsReadsWhatABuilderWrote) {
  // A request carrying the fields a reply or event names, read back with the typed accessors.
  json request = Parsed(MessageJson(DirectMessage()));
  request["rid"] = "r5";
  request["limit"] = 20;
  request["muted"] = true;
  request["members"] = {"bob", "carol"};
  request["before"] = request["id"];
  RequestFields fields;
  ASSERT_TRUE(fields.Parse(request.dump(), Bounds()).ok());
  EXPECT_EQ(fields.tag().rid, "r5");
  EXPECT_EQ(fields.tag().cmid, "c1");
  std::string to, text, missing = "unchanged";
  EXPECT_TRUE(fields.RequiredString("to", &to).ok());
  EXPECT_EQ(to, "bob");
  EXPECT_TRUE(fields.OptionalString("text", &text).ok());
  EXPECT_EQ(text, "hello");
  EXPECT_TRUE(fields.OptionalString("absent", &missing).ok());
  EXPECT_EQ(missing, "unchanged");
  MessageId before = 0;
  EXPECT_TRUE(fields.OptionalId("before", &before).ok());
  EXPECT_EQ(before, 384000000000000001ULL);
  std::uint64_t limit = 0;
  EXPECT_TRUE(fields.OptionalNumber("limit", 1, 100, &limit).ok());
  EXPECT_EQ(limit, 20u);
  bool muted = false;
  EXPECT_TRUE(fields.OptionalBool("muted", &muted).ok());
  EXPECT_TRUE(muted);
  std::vector<std::string> members;
  EXPECT_TRUE(fields.OptionalStringList("members", 10, &members).ok());
  EXPECT_EQ(members, (std::vector<std::string>{"bob", "carol"}));
}

TEST(ProtocolFormatTest, RequestFieldsRoundTripsEscapedText) {
  std::string odd = "line\nquote\"back\\slash \xF0\x9F\x98\x80 \xE2\x80\xAE";
  RequestFields fields;
  ASSERT_TRUE(fields.Parse(json{{"to", "bob"}, {"text", odd}}.dump(), Bounds(true)).ok());
  std::string text;
  ASSERT_TRUE(fields.RequiredString("text", &text).ok());
  EXPECT_EQ(text, odd);
}

TEST(ProtocolFormatTest, RequestFieldsRefusesMistypedAndMissingFields) {
  RequestFields fields;
  ASSERT_TRUE(fields.Parse(R"({"to":5,"limit":-1,"big":1000,"flag":"yes","list":["a",1],"id":"x","id2":7})", Bounds()).ok());
  std::string s;
  EXPECT_EQ(fields.RequiredString("to", &s).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(fields.RequiredString("nothere", &s).message(), "nothere is required");
  std::uint64_t n = 0;
  EXPECT_EQ(fields.OptionalNumber("limit", 0, 10, &n).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(fields.OptionalNumber("big", 0, 999, &n).message(), "big must be an integer from 0 to 999");
  EXPECT_EQ(n, 0u);
  bool b = false;
  EXPECT_EQ(fields.OptionalBool("flag", &b).code(), ErrorCode::kBadRequest);
  std::vector<std::string> list;
  EXPECT_EQ(fields.OptionalStringList("list", 10, &list).code(), ErrorCode::kBadRequest);
  MessageId id = 0;
  EXPECT_EQ(fields.OptionalId("id", &id).message(), "id is not a message id");
  EXPECT_EQ(fields.OptionalId("id2", &id).message(), "id2 must be a message id string");
  EXPECT_EQ(id, 0u);
}

TEST(ProtocolFormatTest, RequestFieldsListLimitAndNullId) {
  RequestFields fields;
  ASSERT_TRUE(fields.Parse(R"({"list":["a","b","c"],"before":null})", Bounds()).ok());
  std::vector<std::string> list = {"old"};
  EXPECT_EQ(fields.OptionalStringList("list", 2, &list).message(), "list has more than 2 entries");
  EXPECT_EQ(list, (std::vector<std::string>{"old"}));
  MessageId before = 3;
  EXPECT_TRUE(fields.OptionalId("before", &before).ok());
  EXPECT_EQ(before, 3u);
}

TEST(ProtocolFormatTest, RequestFieldsRefusesWhatIsNotAnObjectOfUtf8Json) {
  RequestFields fields;
  EXPECT_EQ(fields.Parse("[1,2]", Bounds()).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(fields.Parse("{\"to\":", Bounds()).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(fields.Parse("{\"text\":\"\xFF\"}", Bounds()).code(), ErrorCode::kBadUtf8);
  EXPECT_EQ(fields.Parse(R"({"rid":7})", Bounds()).message(), "rid must be a string");
  EXPECT_EQ(fields.Parse(json{{"cmid", std::string(65, 'x')}}.dump(), Bounds()).message(),
            "cmid is longer than 64 characters");
  // A tag the reply could not echo unchanged is refused, not dropped: a send would lose its idempotency.
  EXPECT_EQ(fields.Parse(R"({"cmid":"a\u0000b"})", Bounds()).message(), "cmid must be printable ASCII");
  EXPECT_EQ(fields.Parse(R"({"rid":"r\t1"})", Bounds()).message(), "rid must be printable ASCII");
  EXPECT_TRUE(fields.Parse(R"({"rid":"r 1"})", Bounds()).ok());
}

TEST(ProtocolFormatTest, RequestFieldsRefusesAMemberNamedTwice) {
  // Parsers disagree on which of two same-named members counts, so neither does.
  RequestFields fields;
  Status twice = fields.Parse(R"({"rid":"r1","to":"bob","text":"a","to":"carol"})", Bounds(true));
  EXPECT_EQ(twice.code(), ErrorCode::kBadRequest);
  EXPECT_EQ(twice.message(), "member \"to\" appears twice");
  EXPECT_EQ(fields.tag().rid, "r1") << "the refusal still carries the tag";
  std::string to;
  EXPECT_FALSE(fields.RequiredString("to", &to).ok()) << "nothing of a refused payload is readable";
  EXPECT_TRUE(fields.Parse(R"({"to":"bob","inner":{"to":1,"x":[{"to":2}]}})", Bounds()).ok())
      << "only the request's own members count";
}

TEST(ProtocolFormatTest, RequestFieldsRefusesNumbersOutOfRangeAndCountsValuesAfterParsing) {
  RequestFields fields;
  EXPECT_EQ(fields.Parse(R"({"limit":18446744073709551616})", Bounds()).message(),
            "a number in the payload is out of range");
  EXPECT_EQ(fields.Parse(R"({"limit":1e400})", Bounds()).message(), "a number in the payload is out of range");
  RequestBounds few = Bounds();
  few.json.max_values = 4;  // the object and three members' values
  EXPECT_TRUE(fields.Parse(R"({"rid":"r","a":1,"b":[]})", few).ok());
  Status many = fields.Parse(R"({"rid":"r","a":1,"b":[2]})", few);
  EXPECT_EQ(many.message(), "payload has more than 4 values");
  EXPECT_EQ(fields.tag().rid, "r");
  EXPECT_EQ(fields.Parse(R"({"a":[[[[[[[[1]]]]]]]]})", Bounds()).message(), "payload nests deeper than 8 levels");
}

TEST(ProtocolFormatTest, RequestFieldsReadsTextWithItsCodePoints) {
  RequestFields fields;
  ASSERT_TRUE(fields.Parse(json{{"text", "h\xC3\xA9llo \xF0\x9F\x98\x80"}}.dump(), Bounds(true)).ok());
  std::string text;
  std::size_t chars = 0;
  ASSERT_TRUE(fields.RequiredText("text", &text, &chars).ok());
  EXPECT_EQ(chars, 7u);
  EXPECT_EQ(fields.RequiredText("missing", &text, &chars).message(), "missing is required");
}

TEST(ProtocolFormatTest, RequestFieldsKeepsTheTagOfARefusedRequest) {
  RequestFields fields;
  Status s = fields.Parse("{\"rid\":\"r9\",\"cmid\":\"c9\",\"text\":\"\xFF\"}", Bounds());
  EXPECT_EQ(s.code(), ErrorCode::kBadUtf8);
  EXPECT_EQ(fields.tag().rid, "r9");
  EXPECT_EQ(fields.tag().cmid, "c9");
}

TEST(ProtocolFormatTest, RequestBoundsFollowTheLimits) {
  Limits limits;
  limits.max_message_chars = 10;
  RequestBounds send = RequestBoundsFor(true, limits);
  RequestBounds other = RequestBoundsFor(false, limits);
  EXPECT_EQ(send.max_bytes, 4096u + 12u * 10u);
  EXPECT_EQ(other.max_bytes, 4096u + 70u * 1000u);
  limits.max_group_members = 5000;
  EXPECT_EQ(RequestBoundsFor(false, limits).max_bytes, 4096u + 70u * 5000u);

  RequestFields fields;
  std::string too_big = json{{"to", "bob"}, {"text", std::string(send.max_bytes, 'a')}}.dump();
  EXPECT_EQ(fields.Parse(too_big, send).code(), ErrorCode::kTooLong);
  std::string deep = std::string(20, '[') + std::string(20, ']');
  EXPECT_FALSE(fields.Parse("{\"a\":" + deep + "}", other).ok());
}

TEST(ProtocolFormatTest, ReplyBudgetAlwaysTakesTheFirstItem) {
  ReplyBudget budget(10);
  EXPECT_TRUE(budget.Take(50));  // larger than the whole budget, but a page is never empty
  EXPECT_FALSE(budget.Take(0));
  ReplyBudget room(10);
  EXPECT_TRUE(room.Take(4));   // 5 with its separator
  EXPECT_TRUE(room.Take(4));   // 10
  EXPECT_FALSE(room.Take(0));  // 1 more would pass it
}

}  // namespace
}  // namespace chat::core
