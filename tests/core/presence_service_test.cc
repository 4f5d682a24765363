// PresenceService through ChatService (ServiceFixture: real RocksDB, FakeClock): the retained presence
// message per change, a clean logout offline at once, a lost connection offline only after the grace
// period (timeout_seconds), a reconnect within it showing nothing, the TICK's 100 ms pace, last_active_at
// stored and answered to queries (also after a restart), and typing. The clock is moved, never slept on.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/presence_service.h"
#include "tests/core/service_fixture.h"

namespace chat::core {
namespace {

using nlohmann::json;

constexpr std::int64_t kTimeoutMs = 3000;

class PresenceServiceTest : public ServiceFixture {
 protected:
  void SetUp() override {
    presence_.timeout_seconds = kTimeoutMs / 1000;
    CreateUsers({"alice", "bob", "carol"});
    MakeContacts("alice", "bob");
  }

  PresenceService& presence() { return service_->presence(); }

  // The payloads of the retained presence messages published since the last call; the record is cleared.
  std::vector<json> TakePresence() {
    std::vector<json> out;
    for (const Published& p : outbox_.published) {
      if (p.topic.rfind("chat/v1/presence/", 0) != 0) continue;
      EXPECT_TRUE(p.retained) << p.topic;
      EXPECT_EQ(p.topic, "chat/v1/presence/" + p.payload.value("user", "?"));
      out.push_back(p.payload);
    }
    outbox_.published.clear();
    return out;
  }

  void Connect(const std::string& user) { presence().OnConnected(user, outbox_); }
  void Lose(const std::string& user) { presence().OnDisconnected(user, /*clean=*/false, outbox_); }
  void LogOut(const std::string& user) { presence().OnDisconnected(user, /*clean=*/true, outbox_); }
  void Tick() { service_->OnTick(outbox_); }
  // `ms` pass with `user`'s connected device heartbeating every second, the broker ticking meanwhile.
  void PassWithHeartbeats(const std::string& user, std::int64_t ms) {
    for (std::int64_t passed = 0; passed < ms; passed += 1000) {
      clock_.Advance(1000);
      EXPECT_TRUE(Request(user.c_str(), RequestOp::kHeartbeat, json::object()).ok());
      Tick();
    }
  }

  std::int64_t StoredLastActive(const std::string& user) {
    Result<std::int64_t> last = store_->GetLastActive(user);
    EXPECT_TRUE(last.ok()) << user << ": " << last.status().ToString();
    return last.ok() ? *last : -1;
  }

  // `asker`'s presence query for `users`; the "users" array of the reply.
  json Query(const char* asker, const json& users) {
    EXPECT_TRUE(Request(asker, RequestOp::kPresence, json{{"rid", "q"}, {"users", users}}).ok());
    for (const Published& p : outbox_.published) {
      if (p.payload.value("rid", "") == "q") {
        EXPECT_EQ(p.client_id, std::string(asker) + ":phone");
        EXPECT_EQ(p.payload.value("type", ""), "presence");
        return p.payload["users"];
      }
    }
    ADD_FAILURE() << "no reply to the presence query";
    return json();
  }

  static json State(const std::string& user, bool online, std::int64_t last_active) {
    return {{"type", "presence"}, {"user", user}, {"state", online ? "online" : "offline"},
            {"last_active_at", last_active}};
  }
};

TEST_F(PresenceServiceTest, FirstDeviceIsOnlineAtOnceAndStoresLastActive) {
  std::int64_t at = clock_.now_ms;
  Connect("alice");
  EXPECT_EQ(TakePresence(), (std::vector<json>{State("alice", true, at)}));
  EXPECT_EQ(StoredLastActive("alice"), at);
  clock_.Advance(500);
  Connect("alice");  // a second device: no change
  EXPECT_TRUE(TakePresence().empty());
  EXPECT_EQ(StoredLastActive("alice"), at);  // stored per change, not per connection
}

TEST_F(PresenceServiceTest, CleanLogoutOfTheLastDeviceIsOfflineAtOnce) {
  Connect("alice");
  TakePresence();
  clock_.Advance(10000);
  std::int64_t at = clock_.now_ms;
  LogOut("alice");
  EXPECT_EQ(TakePresence(), (std::vector<json>{State("alice", false, at)}));
  EXPECT_EQ(StoredLastActive("alice"), at);
  clock_.Advance(kTimeoutMs * 2);
  Tick();
  EXPECT_TRUE(TakePresence().empty()) << "no second offline after the timeout";
}

TEST_F(PresenceServiceTest, LostConnectionIsOfflineOnlyAfterTheGracePeriod) {
  Connect("alice");
  TakePresence();
  clock_.Advance(1000);
  std::int64_t lost_at = clock_.now_ms;
  Lose("alice");
  EXPECT_TRUE(TakePresence().empty()) << "not offline at once";
  clock_.Advance(kTimeoutMs - 1);
  Tick();
  EXPECT_TRUE(TakePresence().empty()) << "offline before the timeout";
  EXPECT_EQ(Query("bob", {"alice"}), (json{{{"user", "alice"}, {"state", "online"}, {"last_active_at", lost_at - 1000}}}));
  clock_.Advance(100);  // past the deadline, and the next expiry check is due
  Tick();
  EXPECT_EQ(TakePresence(), (std::vector<json>{State("alice", false, lost_at)})) << "last_active_at is when it was lost";
  EXPECT_EQ(StoredLastActive("alice"), lost_at);
}

TEST_F(PresenceServiceTest, TheGraceDeadlineIsExactlyTheTimeout) {
  Connect("alice");
  Lose("alice");
  TakePresence();
  clock_.Advance(kTimeoutMs);
  Tick();
  EXPECT_EQ(TakePresence().size(), 1u) << "offline when the timeout has passed, to the millisecond";
}

TEST_F(PresenceServiceTest, ExpiryIsCheckedAtMostEvery100Milliseconds) {
  Connect("alice");
  Lose("alice");
  TakePresence();
  clock_.Advance(kTimeoutMs - 50);
  Tick();  // checks: nothing due yet
  EXPECT_TRUE(TakePresence().empty());
  clock_.Advance(60);  // past the deadline, but only 60 ms after the last check
  Tick();
  EXPECT_TRUE(TakePresence().empty()) << "checked again within 100 ms";
  clock_.Advance(40);
  Tick();
  EXPECT_EQ(TakePresence().size(), 1u);
}

TEST_F(PresenceServiceTest, ReconnectWithinTheGracePeriodShowsNoChange) {
  Connect("alice");
  TakePresence();
  Lose("alice");
  clock_.Advance(kTimeoutMs - 500);
  Connect("alice");
  EXPECT_TRUE(TakePresence().empty()) << "no online again: it never went offline";
  PassWithHeartbeats("alice", kTimeoutMs * 2);
  EXPECT_TRUE(TakePresence().empty()) << "the old deadline is gone";
  EXPECT_EQ(Query("bob", {"alice"})[0]["state"], "online");
}

TEST_F(PresenceServiceTest, ADeviceThatStaysConnectedButStopsHeartbeatingIsOfflineUntilItsNextRequest) {
  Connect("alice");
  TakePresence();
  PassWithHeartbeats("alice", kTimeoutMs);
  EXPECT_TRUE(TakePresence().empty());
  std::int64_t last_heard = clock_.now_ms;
  clock_.Advance(kTimeoutMs);  // the connection stays open; no heartbeat, no request
  Tick();
  EXPECT_EQ(TakePresence(), (std::vector<json>{State("alice", false, last_heard)}));
  EXPECT_EQ(Query("bob", {"alice"})[0]["state"], "offline");
  EXPECT_TRUE(presence().HasConnectedDevice("alice")) << "messages still reach it live: no push";
  ASSERT_TRUE(Request("alice", RequestOp::kHeartbeat, json::object()).ok());
  EXPECT_EQ(TakePresence(), (std::vector<json>{State("alice", true, clock_.now_ms)}));
}

TEST_F(PresenceServiceTest, UserStaysOnlineWhileOneDeviceRemains) {
  Connect("alice");
  Connect("alice");
  TakePresence();
  Lose("alice");
  PassWithHeartbeats("alice", kTimeoutMs * 2);
  EXPECT_TRUE(TakePresence().empty());
  std::int64_t at = clock_.now_ms;
  LogOut("alice");
  EXPECT_EQ(TakePresence(), (std::vector<json>{State("alice", false, at)}));
}

TEST_F(PresenceServiceTest, ALostDeviceAfterALogoutOfTheOtherStillWaits) {
  Connect("alice");
  Connect("alice");
  TakePresence();
  LogOut("alice");  // one device said bye; the other is still connected
  EXPECT_TRUE(TakePresence().empty());
  Lose("alice");
  EXPECT_TRUE(TakePresence().empty());
  clock_.Advance(kTimeoutMs);
  Tick();
  EXPECT_EQ(TakePresence().size(), 1u);
}

TEST_F(PresenceServiceTest, DisconnectWithoutAConnectChangesNothing) {
  Lose("carol");
  LogOut("carol");
  clock_.Advance(kTimeoutMs);
  Tick();
  EXPECT_TRUE(TakePresence().empty());
}

TEST_F(PresenceServiceTest, QueriesAnswerContactsOnlyWithTheStoredLastActive) {
  EXPECT_EQ(Query("bob", {"alice", "carol", "alice"}),
            (json{{{"user", "alice"}, {"state", "offline"}, {"last_active_at", 0}}}))
      << "carol is no contact of bob's: left out; alice once";
  std::int64_t online_at = clock_.now_ms;
  Connect("alice");
  clock_.Advance(2000);
  EXPECT_EQ(Query("bob", {"alice"}), (json{{{"user", "alice"}, {"state", "online"}, {"last_active_at", online_at}}}));
  std::int64_t off_at = clock_.now_ms;
  LogOut("alice");
  EXPECT_EQ(Query("bob", {"alice"}), (json{{{"user", "alice"}, {"state", "offline"}, {"last_active_at", off_at}}}));
  EXPECT_EQ(Query("alice", {"alice"})[0]["user"], "alice") << "one's own presence";
}

TEST_F(PresenceServiceTest, AfterARestartNobodyIsOnlineAndLastActiveSurvives) {
  std::int64_t at = clock_.now_ms;
  Connect("alice");
  clock_.Advance(5000);
  Restart();  // the broker went down without anyone's disconnect
  EXPECT_EQ(Query("bob", {"alice"}), (json{{{"user", "alice"}, {"state", "offline"}, {"last_active_at", at}}}));
}

TEST_F(PresenceServiceTest, HeartbeatIsAnsweredWithNothing) {
  Connect("alice");
  TakePresence();
  EXPECT_TRUE(Request("alice", RequestOp::kHeartbeat, json::object()).ok());
  EXPECT_TRUE(outbox_.published.empty());
}

TEST_F(PresenceServiceTest, ByeIsAnsweredOk) {
  EXPECT_TRUE(Request("alice", RequestOp::kBye, json{{"rid", "b1"}}).ok());
  ASSERT_EQ(outbox_.published.size(), 1u);
  EXPECT_EQ(outbox_.published[0].client_id, "alice:phone");
  EXPECT_EQ(outbox_.published[0].payload, (json{{"type", "ok"}, {"op", "bye"}, {"rid", "b1"}}));
}

TEST_F(PresenceServiceTest, ForgetClearsTheRetainedPresence) {
  Connect("alice");
  TakePresence();
  presence().Forget("alice", outbox_);
  ASSERT_EQ(outbox_.published.size(), 1u);
  EXPECT_EQ(outbox_.published[0].topic, "chat/v1/presence/alice");
  EXPECT_TRUE(outbox_.published[0].retained);
  EXPECT_TRUE(outbox_.published[0].payload.is_null()) << "an empty retained message clears the topic";
  outbox_.published.clear();
  clock_.Advance(kTimeoutMs);
  Tick();
  EXPECT_TRUE(outbox_.published.empty());
}

TEST_F(PresenceServiceTest, TypingReachesAContactOnlyAndIsRateLimited) {
  ASSERT_TRUE(Request("alice", RequestOp::kTyping, json{{"to", "bob"}}).ok());
  ASSERT_EQ(outbox_.published.size(), 1u);
  EXPECT_TRUE(outbox_.published[0].ephemeral);
  EXPECT_EQ(outbox_.published[0].topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(outbox_.published[0].payload, (json{{"type", "typing"}, {"from", "alice"}, {"to", "bob"}}));

  EXPECT_EQ(Request("alice", RequestOp::kTyping, json{{"to", "carol"}}).code(), ErrorCode::kNotAllowed)
      << "carol is no contact";
  EXPECT_EQ(Request("alice", RequestOp::kTyping, json{{"to", "nobody"}}).code(), ErrorCode::kUnknownPeer);
  EXPECT_EQ(Request("alice", RequestOp::kTyping, json::object()).code(), ErrorCode::kBadRequest);

  // The burst (5) less the one above, then refused until the rate (2/s) refills.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Request("alice", RequestOp::kTyping, json{{"to", "bob"}}).ok()) << i;
  EXPECT_EQ(Request("alice", RequestOp::kTyping, json{{"to", "bob"}}).code(), ErrorCode::kRateLimited);
  clock_.Advance(500);
  EXPECT_TRUE(Request("alice", RequestOp::kTyping, json{{"to", "bob"}}).ok());
}

}  // namespace
}  // namespace chat::core
