// One logged-in user must not be able to stall the broker for everyone: expensive requests, hostile
// payloads and login floods, each tried against the real broker while another client (PingProbe)
// measures how long the broker's event loop takes to answer its PINGREQs. The figures are printed; the
// assertions are loose (p99 under 100 ms, nothing over a second, where the target is 10 ms) so a slow
// machine does not fail them, while the stalls these tests guard against took hundreds of ms to seconds.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "clients/common/raw_mqtt_client.h"
#include "harness/ping_probe.h"
#include "tests/integration/broker_fixture.h"

namespace chat::harness {
namespace {

using clients::ConnectOutcome;
using clients::RawMqttClient;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr double kPingP99LimitMs = 100;
constexpr double kPingMaxLimitMs = 1000;
// While passwords are guessed, the plugin's hash threads are busy by design (the guesses are checked off
// the event loop) and take the machine's two cores from it, besides the attacker's threads and another
// test: the event loop waits for a core, not for a hash. It measured up to 105 ms at p99 beside the cluster
// tests; a hash on the event loop itself would cost a second or more (the max bound below).
constexpr double kPingP99UnderHashingLimitMs = 250;

// The sanitizer build (scripts/sanitize.sh) runs everything several times slower and says how much.
double TimeScale() {
  const char* scale = std::getenv("CHAT_TEST_TIME_SCALE");
  return scale != nullptr && std::atof(scale) > 1 ? std::atof(scale) : 1.0;
}

void ExpectResponsive(const char* what, const PingStats& stats, double p99_limit_ms = kPingP99LimitMs) {
  std::printf("[ ping     ] %s: %s\n", what, stats.ToString().c_str());
  EXPECT_GT(stats.count, 0u) << what;
  EXPECT_EQ(stats.unanswered, 0u) << what;
  EXPECT_LT(stats.p99_ms, p99_limit_ms * TimeScale()) << what << ": " << stats.ToString();
  EXPECT_LT(stats.max_ms, kPingMaxLimitMs * TimeScale()) << what << ": " << stats.ToString();
}

// Lifts the per-user rates so a test can build its scenario quickly; the limits under test stay.
const char* kFastSetup =
    "limits:\n"
    "  send_rate_per_second: 100000\n"
    "  send_burst: 100000\n"
    "  request_rate_per_second: 100000\n"
    "  request_burst: 100000\n";

// Production password hashing (the harness's default is 1000 rounds, checked on the spot).
const std::map<std::string, std::string> kRealHashing = {{"pbkdf2_iterations", "210000"},
                                                         {"inline_hash_rounds_per_second", "420000"}};

class AbuseTest : public BrokerFixture {
 protected:
  void StartBroker(const std::string& extra_yaml, std::vector<std::string> users,
                   std::map<std::string, std::string> auth = {}, const std::vector<std::string>& admins = {}) {
    users.push_back("probe");
    BrokerFixture::StartBroker(users, extra_yaml, std::move(auth), admins);
    ASSERT_EQ(probe_.Start(broker_->mqtt_port(), "probe", "pw-probe"), "");
  }
  std::unique_ptr<ChatTestClient> Device(const std::string& user, const std::string& device, bool subscribe = true) {
    return BrokerFixture::Device(user, device, "", subscribe);
  }

  // Waits for one reply per rid in `rids` (any order); returns them by rid.
  static std::map<std::string, Received> Replies(ChatTestClient& client, const std::set<std::string>& rids,
                                                 milliseconds timeout) {
    std::map<std::string, Received> found;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (found.size() < rids.size() && std::chrono::steady_clock::now() < deadline) {
      auto reply = client.WaitFor([&](const Received& r) {
        return r.json.is_object() && rids.count(r.json.value("rid", "")) && !found.count(r.json.value("rid", ""));
      }, milliseconds(500));
      if (reply) found.emplace(reply->json.value("rid", ""), std::move(*reply));
    }
    return found;
  }

  PingProbe probe_;
};

std::string Repeat(const std::string& piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

// Issue item 1: 100 messages of 100,000 four-byte characters made one 40 MB history reply and a sync
// reply as large (7 s of broker CPU for 500 of them), and pipelined requests grew the broker by GBs.
TEST_F(AbuseTest, HistoryAndSyncRepliesAreBoundedInBytesAndStillPageThroughEverything) {
  StartBroker(kFastSetup, {"alice"});
  auto alice = Device("alice", "phone", /*subscribe=*/false);
  const std::string text = Repeat("\xF0\x9F\x98\x80", 100000);  // 100,000 x U+1F600: 400 KB of UTF-8
  constexpr int kMessages = 100;
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_LT(alice->Send("alice", text, "big-" + std::to_string(i)), 0x80) << i;
  }
  auto reader = Device("alice", "reader", /*subscribe=*/false);
  probe_.TakeStats();
  ProcessUsage before = broker_->Usage();
  std::set<std::string> rids;
  for (int i = 0; i < 5; ++i) {
    rids.insert("s" + std::to_string(i));
    ASSERT_TRUE(reader->PublishNoWait("chat/v1/req/sync", json{{"rid", "s" + std::to_string(i)}, {"after", 0}, {"limit", 500}}.dump()));
    rids.insert("h" + std::to_string(i));
    ASSERT_TRUE(reader->PublishNoWait("chat/v1/req/history",
                                      json{{"rid", "h" + std::to_string(i)}, {"peer", "alice"}, {"limit", 100}}.dump()));
  }
  auto replies = Replies(*reader, rids, seconds(120));
  ProcessUsage after = broker_->Usage();
  // Each of these replies is up to 1 MB of JSON built on the broker thread (its budget, or one 400 KB
  // message escaped), tens of milliseconds each when another test shares the two cores: the pings that
  // wait behind a burst of ten reach p99 ~180 ms there. The defect this guards against (40 MB replies)
  // cost seconds per reply; the max bound below still catches one.
  ExpectResponsive("5 sync + 5 history requests over 40 MB of text", probe_.TakeStats(), /*p99_limit_ms=*/500);
  std::printf("[ figures  ] broker CPU %.2f s, RSS %ld -> %ld KB\n", after.cpu_seconds - before.cpu_seconds,
              before.rss_kb, after.rss_kb);
  EXPECT_LT(after.rss_kb - before.rss_kb, 300 * 1024);
  ASSERT_EQ(replies.size(), rids.size());
  for (const auto& [rid, reply] : replies) {
    std::printf("[ figures  ] reply %s: %zu bytes\n", rid.c_str(), reply.payload.size());
    EXPECT_LE(reply.payload.size(), 1u << 20) << rid;  // the default budget, 256 KiB, or one message
    EXPECT_TRUE(reply.json.value("more", false)) << rid;
    EXPECT_NE(reply.json.value("type", ""), "error") << reply.payload.substr(0, 300);
  }

  // Paging still reaches everything, in order, once.
  std::uint64_t after_seq = 0;
  std::set<std::string> cmids;
  for (int page = 0; page < 2 * kMessages; ++page) {
    std::string rid = "page" + std::to_string(page);
    ASSERT_TRUE(reader->PublishNoWait("chat/v1/req/sync", json{{"rid", rid}, {"after", after_seq}, {"limit", 500}}.dump()));
    auto reply = reader->WaitFor([&](const Received& r) { return r.json.is_object() && r.json.value("rid", "") == rid; },
                                 seconds(30));
    ASSERT_TRUE(reply) << rid;
    ASSERT_EQ(reply->json.value("type", ""), "sync") << reply->payload.substr(0, 300);
    for (const json& event : reply->json["events"]) {
      EXPECT_EQ(event["seq"].get<std::uint64_t>(), after_seq + 1);
      after_seq = event["seq"].get<std::uint64_t>();
      EXPECT_EQ(event.value("text", "").size(), text.size());
      cmids.insert(event.value("cmid", ""));
    }
    if (!reply->json.value("more", false)) break;
  }
  EXPECT_EQ(cmids.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(after_seq, static_cast<std::uint64_t>(kMessages));
}

// Issue item 2: a user in 300 groups asking for the presence of 1,000 names cost 0.45 s per request.
TEST_F(AbuseTest, PresenceQueriesCostLittleWhateverTheListAndAreDeduplicated) {
  StartBroker(kFastSetup, {"alice", "bob", "carol"});
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  ASSERT_LT(alice->Publish("chat/v1/req/contact_request", R"({"user":"bob"})"), 0x80);
  ASSERT_TRUE(bob->WaitFor([](const Received& r) { return r.json.value("event", "") == "incoming"; }));
  ASSERT_LT(bob->Publish("chat/v1/req/contact_accept", R"({"user":"alice"})"), 0x80);
  ASSERT_TRUE(alice->WaitFor([](const Received& r) { return r.json.value("event", "") == "added"; }));
  for (int i = 0; i < 300; ++i) {
    ASSERT_LT(alice->Publish("chat/v1/req/group_create", json{{"name", "g" + std::to_string(i)}}.dump()), 0x80);
  }
  ASSERT_TRUE(alice->WaitFor([](const Received& r) { return r.json.value("name", "") == "g299"; }, seconds(30)));

  auto attacker = Device("alice", "attacker", /*subscribe=*/false);
  json names = json::array();
  for (int i = 0; i < 1000; ++i) names.push_back("A");
  json many = json::array();
  for (int i = 0; i < 1000; ++i) many.push_back("nobody" + std::to_string(i));
  probe_.TakeStats();
  std::set<std::string> rids;
  for (int i = 0; i < 20; ++i) {
    std::string rid = "p" + std::to_string(i);
    rids.insert(rid);
    ASSERT_TRUE(attacker->PublishNoWait("chat/v1/req/presence", json{{"rid", rid}, {"users", i % 2 ? names : many}}.dump()));
  }
  auto replies = Replies(*attacker, rids, seconds(60));
  ExpectResponsive("20 presence queries of 1,000 names from a member of 300 groups", probe_.TakeStats());
  ASSERT_EQ(replies.size(), rids.size());
  for (const auto& [rid, reply] : replies) {
    EXPECT_EQ(reply.json.value("type", ""), "presence") << reply.payload.substr(0, 200);
    EXPECT_TRUE(reply.json["users"].empty()) << reply.payload.substr(0, 200);
  }

  // A name listed several times is answered once; someone the caller may not watch is left out.
  ASSERT_TRUE(attacker->PublishNoWait("chat/v1/req/presence", R"({"rid":"dup","users":["bob","carol","bob","bob"]})"));
  auto dup = Replies(*attacker, {"dup"}, seconds(10));
  ASSERT_EQ(dup.size(), 1u);
  ASSERT_EQ(dup["dup"].json["users"].size(), 1u) << dup["dup"].payload;
  EXPECT_EQ(dup["dup"].json["users"][0]["user"], "bob");
}

// Issue item 3: ~900 KB of '[' inside a request cost 0.53 s to parse (and again for its error reply).
TEST_F(AbuseTest, DeeplyNestedAndHugeJsonIsRefusedBeforeParsing) {
  StartBroker(kFastSetup, {"alice"});
  auto alice = Device("alice", "phone");
  const std::string deep = Repeat("[", 900000);
  const std::string wide = "[" + Repeat("0,", 250000) + "0]";
  probe_.TakeStats();
  std::set<std::string> rids;
  for (int i = 0; i < 20; ++i) {
    std::string rid = "n" + std::to_string(i);
    rids.insert(rid);
    std::string body = i % 2 ? R"({"rid":")" + rid + R"(","text":"hi","to":"alice","x":)" + deep + "}"
                             : R"({"rid":")" + rid + R"(","text":"hi","to":"alice","x":)" + wide + "}";
    ASSERT_TRUE(alice->PublishNoWait("chat/v1/req/send", body));
  }
  auto replies = Replies(*alice, rids, seconds(60));
  ExpectResponsive("20 sends of 500-900 KB of nested or wide JSON", probe_.TakeStats());
  ASSERT_EQ(replies.size(), rids.size());
  for (const auto& [rid, reply] : replies) {
    EXPECT_EQ(reply.json.value("type", ""), "error") << rid;
    EXPECT_EQ(reply.json.value("code", ""), "bad_request") << reply.payload;
  }
  // Nothing was stored, and the next ordinary request is served.
  ASSERT_LT(alice->Send("alice", "still here", "ok-1"), 0x80);
  auto ack = alice->WaitForType("ack");
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["cmid"], "ok-1");
}

// Logs in the way a stock client does: a connection closed without CONNACK is tried again shortly.
// Returns the final outcome and the time until it.
ConnectOutcome LoginRetrying(int port, const std::string& user, const std::string& password,
                             const std::string& source_address, std::chrono::seconds give_up = seconds(30)) {
  auto started = std::chrono::steady_clock::now();
  ConnectOutcome outcome;
  while (std::chrono::steady_clock::now() - started < give_up) {
    RawMqttClient client;
    outcome = client.Connect(port, user + ":login", user, password, true, 60, source_address);
    client.Disconnect();
    if (outcome.kind != ConnectOutcome::Kind::kClosed) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  return outcome;
}

// Attackers from `source_address` logging in with wrong passwords for the named users until stopped.
class GuessingFlood {
 public:
  GuessingFlood(int port, std::vector<std::string> users, std::string source_address, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([=, this] {
        for (int n = 0; !stop_; ++n) {
          const std::string& user = users[static_cast<std::size_t>(n * threads + t) % users.size()];
          RawMqttClient client;
          ConnectOutcome outcome =
              client.Connect(port, user + ":guess", user, "guess-" + std::to_string(t) + "-" + std::to_string(n), true, 60,
                             source_address, seconds(10));
          client.Close();
          ++attempts_;
          if (outcome.kind == ConnectOutcome::Kind::kRefused) ++refused_;
          if (outcome.kind == ConnectOutcome::Kind::kAccepted) ++accepted_;
        }
      });
    }
  }
  ~GuessingFlood() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  std::string Figures() const {
    return std::to_string(attempts_.load()) + " attempts, " + std::to_string(refused_.load()) + " refused, " +
           std::to_string(attempts_ - refused_ - accepted_) + " told to come back, " + std::to_string(accepted_.load()) +
           " accepted";
  }
  int accepted() const { return accepted_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> attempts_{0}, refused_{0}, accepted_{0};
  std::vector<std::thread> threads_;
};

// Issue item 4: wrong passwords sprayed over 20 known names by 10 threads made the broker thread run
// ~19 PBKDF2s back to back (others' ping p99 746 ms), and refused 2 of 13 legitimate first logins.
TEST_F(AbuseTest, PasswordSprayingNeitherStallsTheBrokerNorKeepsOthersOut) {
  std::vector<std::string> victims, legit, users;
  for (int i = 0; i < 20; ++i) victims.push_back("victim" + std::to_string(i));
  for (int i = 0; i < 13; ++i) legit.push_back("user" + std::to_string(i));
  users = victims;
  users.insert(users.end(), legit.begin(), legit.end());
  StartBroker("", users, kRealHashing);
  probe_.TakeStats();
  GuessingFlood flood(broker_->mqtt_port(), victims, "127.0.0.3", 10);
  std::this_thread::sleep_for(seconds(2));
  double slowest = 0;
  for (const std::string& user : legit) {
    auto client = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), user, "phone");
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(client->Connect("pw-" + user), "") << user;
    slowest = std::max(slowest, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  std::this_thread::sleep_for(seconds(2));
  flood.Stop();
  std::printf("[ figures  ] flood: %s; slowest legitimate first login %.2f s\n", flood.Figures().c_str(), slowest);
  EXPECT_EQ(flood.accepted(), 0);
  ExpectResponsive("password spraying over 20 accounts, 10 threads", probe_.TakeStats(), kPingP99UnderHashingLimitMs);
}

// Issue item 5: five wrong passwords locked an account for 60 s, for everyone: after a restart the
// attacker could keep `admin` (and chatctl) out forever.
TEST_F(AbuseTest, GuessingAnAdminPasswordLocksNobodyOut) {
  StartBroker("", {"alice"}, kRealHashing, {"admin", "admin2"});
  // A device of alice's that logged in before the attack: known to the server.
  ASSERT_EQ(LoginRetrying(broker_->mqtt_port(), "alice", "pw-alice", "127.0.0.1").kind, ConnectOutcome::Kind::kAccepted);
  probe_.TakeStats();
  GuessingFlood flood(broker_->mqtt_port(), {"admin", "admin2", "alice"}, "127.0.0.3", 4);
  std::this_thread::sleep_for(seconds(2));
  // The known device comes straight back in, throttling or not.
  ConnectOutcome known = LoginRetrying(broker_->mqtt_port(), "alice", "pw-alice", "127.0.0.1");
  EXPECT_EQ(known.kind, ConnectOutcome::Kind::kAccepted);
  EXPECT_LT(known.elapsed, milliseconds(1000));
  // The admin, from elsewhere, gets in and runs a command, as chatctl does.
  auto admin = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "admin", "chatctl");
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(admin->Connect("pw-admin"), "");
  double admin_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(admin->Subscribe("$CONTROL/chat-accounts/v1/response"));
  ASSERT_LT(admin->Publish("$CONTROL/chat-accounts/v1", R"({"commands":[{"command":"listUsers"}]})"), 0x80);
  auto response = admin->WaitFor([](const Received& r) { return r.topic == "$CONTROL/chat-accounts/v1/response"; });
  ASSERT_TRUE(response);
  EXPECT_FALSE(response->json["responses"][0].contains("error")) << response->payload;
  flood.Stop();
  PingStats during = probe_.TakeStats();
  // Once the guessing stops, even from the guesser's own address the right password is only slowed
  // (its checks are throttled there), never locked out.
  ConnectOutcome same_address = LoginRetrying(broker_->mqtt_port(), "admin2", "pw-admin2", "127.0.0.3");
  EXPECT_EQ(same_address.kind, ConnectOutcome::Kind::kAccepted);
  EXPECT_LT(same_address.elapsed, seconds(10));
  std::printf("[ figures  ] flood: %s; admin in after %.2f s; admin2 from the guesser's address after %.2f s\n",
              flood.Figures().c_str(), admin_seconds, same_address.elapsed.count() / 1e6);
  ExpectResponsive("guessing admin's and alice's passwords, 4 threads", during, kPingP99UnderHashingLimitMs);
}

// Issue 14 item 2: a guessing flood against one account leaves its owner's devices a way in that
// costs no password check: their resume tokens, accepted at the first try even from the guesser's address.
TEST_F(AbuseTest, TheVictimOfAGuessingFloodLogsInWithItsToken) {
  StartBroker("", {"alice"}, kRealHashing);
  auto phone = Device("alice", "phone");
  auto issued = Request(*phone, "resume_token", nlohmann::json::object());
  ASSERT_TRUE(issued && issued->contains("token"));
  std::string token = (*issued)["token"];
  phone.reset();
  probe_.TakeStats();
  GuessingFlood flood(broker_->mqtt_port(), {"alice"}, "127.0.0.3", 4);
  std::this_thread::sleep_for(seconds(2));
  for (const char* address : {"127.0.0.1", "127.0.0.3"}) {
    RawMqttClient client;
    ConnectOutcome outcome = client.Connect(broker_->mqtt_port(), "alice:phone", "alice", token, true, 60, address);
    client.Disconnect();
    EXPECT_EQ(outcome.kind, ConnectOutcome::Kind::kAccepted) << "from " << address;
    EXPECT_LT(outcome.elapsed, milliseconds(500)) << "from " << address;
  }
  flood.Stop();
  std::printf("[ figures  ] flood on alice: %s\n", flood.Figures().c_str());
  EXPECT_EQ(flood.accepted(), 0);
  ExpectResponsive("guessing alice's password, 4 threads", probe_.TakeStats(), kPingP99UnderHashingLimitMs);
}

// Issue item 9: unknown names were answered in 0.47 ms and wrong passwords in 49 ms, so names could be
// enumerated. Both now take the same path, a hash included.
TEST_F(AbuseTest, UnknownNamesAreAnsweredLikeWrongPasswords) {
  StartBroker("", {"alice"}, kRealHashing);
  std::vector<double> unknown_ms, wrong_ms;
  for (int i = 0; i < 8; ++i) {
    std::string address = "127.0.1." + std::to_string(10 + i);
    ConnectOutcome unknown = LoginRetrying(broker_->mqtt_port(), "nobody" + std::to_string(i), "pw", address);
    ConnectOutcome wrong = LoginRetrying(broker_->mqtt_port(), "alice", "wrong" + std::to_string(i), address);
    EXPECT_EQ(unknown.kind, ConnectOutcome::Kind::kRefused);
    EXPECT_EQ(wrong.kind, ConnectOutcome::Kind::kRefused);
    unknown_ms.push_back(unknown.elapsed.count() / 1000.0);
    wrong_ms.push_back(wrong.elapsed.count() / 1000.0);
  }
  std::sort(unknown_ms.begin(), unknown_ms.end());
  std::sort(wrong_ms.begin(), wrong_ms.end());
  double unknown_median = unknown_ms[unknown_ms.size() / 2];
  double wrong_median = wrong_ms[wrong_ms.size() / 2];
  std::printf("[ figures  ] time to the answer, median: unknown name %.1f ms, wrong password %.1f ms\n", unknown_median,
              wrong_median);
  EXPECT_GT(unknown_median, 0.3 * wrong_median);
  EXPECT_LT(unknown_median, 3 * wrong_median);
}

}  // namespace
}  // namespace chat::harness
