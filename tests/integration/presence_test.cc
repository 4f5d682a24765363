// Presence, contacts and typing through the real broker, with a 1 s heartbeat and a 3 s timeout so that
// every way of losing a device (bye, plain DISCONNECT, keepalive expiry, killed process, broker restart)
// can be timed in seconds. Offline delays are measured and printed as well as bounded.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/harness/broker_process.h"
#include "tests/harness/test_client.h"

extern char** environ;

namespace chat::harness {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

constexpr double kTimeoutSeconds = 3;
// Groups of up to 3 members share presence live; 4 is already a "large" group.
constexpr char kPresenceYaml[] =
    "presence:\n  heartbeat_seconds: 1\n  timeout_seconds: 3\n  push_group_limit: 3\n";
// The broker's grace deadline starts no earlier than the test's own mark, so only clock rounding can make
// an offline event look early; the machine is slow and shared, so late is bounded generously.
constexpr double kEarlySlackSeconds = 0.25;
constexpr double kLateSlackSeconds = 4;
// Long enough for a lost device's offline event to arrive under load, and still bounded.
constexpr milliseconds kOfflineWait = milliseconds(static_cast<int>((kTimeoutSeconds + kLateSlackSeconds + 1) * 1000));

std::string Password(const std::string& user) { return "pw-" + user; }

double SecondsBetween(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::int64_t WallMillis() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string PresenceTopic(const std::string& user) { return "chat/v1/presence/" + user; }

std::function<bool(const Received&)> PresenceIs(const std::string& user, const std::string& state) {
  return [user, state](const Received& r) {
    return r.topic == PresenceTopic(user) && r.json.is_object() && r.json.value("state", "") == state;
  };
}

std::function<bool(const Received&)> AnyPresenceOf(const std::string& user) {
  return [user](const Received& r) { return r.topic == PresenceTopic(user); };
}

std::function<bool(const Received&)> OfType(const std::string& type) {
  return [type](const Received& r) { return r.json.is_object() && r.json.value("type", "") == type; };
}

// "(no reply)", the error code, or the reply's type: one string to compare in expectations.
std::string Outcome(const std::optional<json>& reply) {
  if (!reply) return "(no reply)";
  if (reply->value("type", "") == "error") return "error:" + reply->value("code", "");
  return reply->value("type", "");
}

// Prints a measurement so the run's log shows the real delays, not only that they were within bounds.
void Report(const std::string& what, double value_seconds) {
  std::printf("[ measured ] %s: %.3f s\n", what.c_str(), value_seconds);
  std::fflush(stdout);
}

// A raw TCP MQTT 3.1.1 connection that logs in and then goes silent without closing, like a phone whose
// network vanished: nothing but the broker's keepalive check can notice it. A thread notes the moment the
// broker closes the socket.
class SilentConnection {
 public:
  SilentConnection() = default;
  SilentConnection(const SilentConnection&) = delete;
  SilentConnection& operator=(const SilentConnection&) = delete;
  ~SilentConnection() {
    stop_ = true;
    if (watcher_.joinable()) watcher_.join();
    if (fd_ >= 0) close(fd_);
  }

  // Connects and logs in; returns "" once the CONNACK accepted the login, or what went wrong.
  std::string Open(int port, const std::string& client_id, const std::string& user, const std::string& password,
                   int keepalive_seconds) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "connect failed";

    std::string body;
    auto add_string = [&body](const std::string& s) {
      body.push_back(static_cast<char>(s.size() >> 8));
      body.push_back(static_cast<char>(s.size() & 0xff));
      body += s;
    };
    add_string("MQTT");
    body.push_back(4);                                  // protocol level: 3.1.1
    body.push_back(static_cast<char>(0x80 | 0x40 | 0x02));  // username, password, clean session
    body.push_back(static_cast<char>(keepalive_seconds >> 8));
    body.push_back(static_cast<char>(keepalive_seconds & 0xff));
    add_string(client_id);
    add_string(user);
    add_string(password);
    std::string packet(1, '\x10');
    for (std::size_t left = body.size();;) {  // remaining length, 7 bits per byte
      char byte = static_cast<char>(left & 0x7f);
      left >>= 7;
      packet.push_back(static_cast<char>(byte | (left > 0 ? 0x80 : 0)));
      if (left == 0) break;
    }
    packet += body;
    if (send(fd_, packet.data(), packet.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(packet.size())) {
      return "send failed";
    }
    unsigned char connack[4] = {};
    std::size_t got = 0;
    auto deadline = SteadyClock::now() + seconds(10);
    while (got < sizeof(connack) && SteadyClock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = recv(fd_, connack + got, sizeof(connack) - got, 0);
      if (n <= 0) return "closed before CONNACK";
      got += static_cast<std::size_t>(n);
    }
    if (got < sizeof(connack)) return "no CONNACK within 10 s";
    if (connack[0] != 0x20 || connack[3] != 0) return "login refused, CONNACK code " + std::to_string(connack[3]);
    last_packet_ = SteadyClock::now();
    watcher_ = std::thread([this] { WatchForClose(); });
    return "";
  }

  SteadyClock::time_point last_packet() const { return last_packet_; }
  // When the broker closed the connection, if it has.
  std::optional<SteadyClock::time_point> closed_at() const {
    std::int64_t ns = closed_ns_;
    if (ns == 0) return std::nullopt;
    return SteadyClock::time_point(SteadyClock::duration(ns));
  }

 private:
  void WatchForClose() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char byte;
      if (recv(fd_, &byte, 1, 0) <= 0) {
        closed_ns_ = SteadyClock::now().time_since_epoch().count();
        return;
      }
    }
  }

  int fd_ = -1;
  SteadyClock::time_point last_packet_;
  std::thread watcher_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> closed_ns_{0};
};

// mosquitto_sub in a child process, logged in as one device: a separate program that can be SIGKILLed, as
// the OS kills an app. posix_spawn rather than fork: this process runs Paho's threads.
class ChildClient {
 public:
  ChildClient(int port, const std::string& user, const std::string& device) {
    std::vector<std::string> args = {"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(port),
                                     "-i", user + ":" + device, "-u", user, "-P", Password(user),
                                     "-k", "5", "-q", "1", "-t", "chat/v1/user/" + user + "/#"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, "/usr/bin/mosquitto_sub", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ChildClient(const ChildClient&) = delete;
  ChildClient& operator=(const ChildClient&) = delete;
  ~ChildClient() { Kill(); }

  bool started() const { return pid_ > 0; }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

class PresenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(BrokerOptions{.extra_yaml = kPresenceYaml, .extra_mosquitto_conf = ""});
    for (const char* user : {"alice", "bob", "carol", "dave", "erin", "frank"}) {
      ASSERT_EQ(broker_->AddUserOffline(user, Password(user)), "");
    }
    ASSERT_EQ(broker_->Start(), "");
  }

  // A connected device of `user`, subscribed to its own topics.
  std::unique_ptr<ChatTestClient> Device(const std::string& user, const std::string& device, int version = 5) {
    auto client = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), user, device, version);
    EXPECT_EQ(client->Connect(Password(user)), "") << user << ":" << device;
    EXPECT_TRUE(client->SubscribeOwn());
    return client;
  }

  // A device of `viewer` watching `subject`'s presence (the subscription is expected to be granted).
  std::unique_ptr<ChatTestClient> Watcher(const std::string& viewer, const std::string& subject,
                                          const std::string& device = "watch") {
    auto client = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), viewer, device);
    EXPECT_EQ(client->Connect(Password(viewer)), "");
    EXPECT_TRUE(client->Subscribe(PresenceTopic(subject))) << viewer << " watching " << subject;
    return client;
  }

  // Publishes chat/v1/req/<op> with a fresh rid and waits for the reply carrying it.
  std::optional<json> Request(ChatTestClient& client, const std::string& op, json body,
                              milliseconds timeout = seconds(10)) {
    std::string rid = op + "-" + std::to_string(++rid_counter_);
    body["rid"] = rid;
    client.Publish("chat/v1/req/" + op, body.dump());
    std::string reply_topic = "chat/v1/user/" + client.user() + "/reply";
    auto got = client.WaitFor(
        [&](const Received& r) {
          return r.topic == reply_topic && r.json.is_object() && r.json.value("rid", "") == rid;
        },
        timeout);
    if (!got) return std::nullopt;
    return got->json;
  }

  // A group of `owner` with `members`, none of them the owner's contact: each is invited and joins by
  // accepting (joining is no taking part: it shares no presence by itself). Returns the group id.
  std::string GroupWith(ChatTestClient& owner, const std::string& name, const std::vector<ChatTestClient*>& members) {
    json names = json::array();
    for (ChatTestClient* member : members) names.push_back(member->user());
    auto created = Request(owner, "group_create", {{"name", name}, {"members", names}});
    EXPECT_EQ(Outcome(created), "group");
    if (!created) return "";
    EXPECT_EQ((*created)["invited"].size(), names.size()) << created->dump();
    std::string group = (*created)["group"];
    for (ChatTestClient* member : members) {
      EXPECT_EQ(Outcome(Request(*member, "group_join", {{"group", group}})), "group") << member->user();
    }
    return group;
  }

  // Makes `a` and `b` contacts through the protocol: a asks, b accepts.
  void MakeContacts(ChatTestClient& a, ChatTestClient& b) {
    EXPECT_EQ(Outcome(Request(a, "contact_request", {{"user", b.user()}})), "ok");
    EXPECT_EQ(Outcome(Request(b, "contact_accept", {{"user", a.user()}})), "ok");
  }

  // Logs out cleanly: bye (its PUBACK means the broker has handled it), then DISCONNECT.
  static void LogOut(ChatTestClient& client) {
    EXPECT_LT(client.Publish("chat/v1/req/bye", "{}"), 0x80);
    client.Disconnect();
  }

  // Waits for `user`'s offline event on `watcher` after a lost connection noted at `lost_at`, and checks it
  // came only after the timeout (and not much later). Returns the measured delay, or -1.
  double ExpectOfflineAfterTimeout(ChatTestClient& watcher, const std::string& user, SteadyClock::time_point lost_at,
                                   const std::string& path) {
    auto offline = watcher.WaitFor(PresenceIs(user, "offline"), kOfflineWait);
    if (!offline) {
      ADD_FAILURE() << path << ": no offline event within " << kOfflineWait.count() << " ms";
      return -1;
    }
    double delay = SecondsBetween(lost_at, SteadyClock::now());
    Report(path + ": offline after", delay);
    EXPECT_GE(delay, kTimeoutSeconds - kEarlySlackSeconds) << path << ": offline before the timeout";
    EXPECT_LE(delay, kTimeoutSeconds + kLateSlackSeconds) << path << ": offline far after the timeout";
    EXPECT_GT(offline->json.value("last_active_at", std::int64_t{0}), 0) << offline->payload;
    return delay;
  }

  std::unique_ptr<BrokerProcess> broker_;
  int rid_counter_ = 0;
};

TEST_F(PresenceTest, ContactSeesOnlineAndOfflineAtOnceAfterCleanLogout) {
  auto setup_alice = Device("alice", "setup");
  auto setup_bob = Device("bob", "setup");
  MakeContacts(*setup_alice, *setup_bob);
  LogOut(*setup_alice);
  // Watchers set up after alice's first online/offline see the retained offline first; drain it.
  auto bob = Watcher("bob", "alice");
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "offline"), seconds(5)));

  std::int64_t before_ms = WallMillis();
  auto alice = Device("alice", "phone");
  auto online = bob->WaitFor(PresenceIs("alice", "online"), seconds(5));
  ASSERT_TRUE(online);
  EXPECT_EQ(online->json["type"], "presence");
  EXPECT_EQ(online->json["user"], "alice");
  std::int64_t online_at = online->json.value("last_active_at", std::int64_t{0});
  EXPECT_GE(online_at, before_ms - 1000);  // "when the user came online"
  EXPECT_LE(online_at, WallMillis() + 1000);

  // A watcher arriving now gets the current state at once from the retained message.
  auto carol_setup = Device("carol", "setup");
  MakeContacts(*alice, *carol_setup);
  auto carol = Watcher("carol", "alice");
  auto retained = carol->WaitFor(AnyPresenceOf("alice"), seconds(5));
  ASSERT_TRUE(retained);
  EXPECT_EQ(retained->json["state"], "online");
  EXPECT_EQ(retained->json["last_active_at"], online_at);

  auto logout_at = SteadyClock::now();
  LogOut(*alice);
  auto offline = bob->WaitFor(PresenceIs("alice", "offline"), seconds(5));
  ASSERT_TRUE(offline);
  double delay = SecondsBetween(logout_at, SteadyClock::now());
  Report("clean: offline after bye + DISCONNECT", delay);
  EXPECT_LT(delay, kTimeoutSeconds - 1) << "a clean logout must not wait for the timeout";
  EXPECT_GE(offline->json.value("last_active_at", std::int64_t{0}), online_at);
  EXPECT_TRUE(carol->WaitFor(PresenceIs("alice", "offline"), seconds(5)));
  // One change, one message: nothing else follows.
  EXPECT_FALSE(bob->WaitFor(AnyPresenceOf("alice"), milliseconds(1500)));
}

TEST_F(PresenceTest, HeartbeatHasNoReply) {
  auto alice = Device("alice", "phone");
  EXPECT_LT(alice->Publish("chat/v1/req/heartbeat", "{}", 0), 0x80);
  EXPECT_LT(alice->Publish("chat/v1/req/heartbeat", "{}", 1), 0x80);
  auto replies = alice->Collect(milliseconds(700));
  for (const Received& r : replies) EXPECT_NE(r.topic, "chat/v1/user/alice/reply") << r.payload;
}

TEST_F(PresenceTest, DisconnectWithoutByeIsOfflineOnlyAfterTheTimeout) {
  auto alice = Device("alice", "phone");
  auto bob_setup = Device("bob", "setup");
  MakeContacts(*alice, *bob_setup);
  auto bob = Watcher("bob", "alice");
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "online"), seconds(5)));

  auto lost_at = SteadyClock::now();
  alice->Disconnect();  // DISCONNECT without bye: the broker cannot tell it from a lost connection
  ExpectOfflineAfterTimeout(*bob, "alice", lost_at, "plain DISCONNECT");
}

TEST_F(PresenceTest, KilledClientProcessIsOfflineOnlyAfterTheTimeout) {
  auto alice_setup = Device("alice", "setup");
  auto bob_setup = Device("bob", "setup");
  MakeContacts(*alice_setup, *bob_setup);
  LogOut(*alice_setup);
  auto bob = Watcher("bob", "alice");
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "offline"), seconds(5)));  // the retained state

  ChildClient child(broker_->mqtt_port(), "alice", "cli");
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "online"), seconds(10))) << "mosquitto_sub did not log in";
  std::this_thread::sleep_for(milliseconds(300));  // let it subscribe: a settled client, then killed

  auto lost_at = SteadyClock::now();
  child.Kill();
  ExpectOfflineAfterTimeout(*bob, "alice", lost_at, "killed process");
}

TEST_F(PresenceTest, KeepaliveExpiryIsNoticedThenOfflineAfterTheTimeout) {
  constexpr int kKeepalive = 2;
  auto alice_setup = Device("alice", "setup");
  auto bob_setup = Device("bob", "setup");
  MakeContacts(*alice_setup, *bob_setup);
  LogOut(*alice_setup);
  auto bob = Watcher("bob", "alice");
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "offline"), seconds(5)));

  SilentConnection silent;
  ASSERT_EQ(silent.Open(broker_->mqtt_port(), "alice:silent", "alice", Password("alice"), kKeepalive), "");
  std::int64_t connack_wall_ms = WallMillis();
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "online"), seconds(5)));

  // Mosquitto drops a client after 1.5 keepalives of silence, checking every few seconds; then the grace
  // period runs from that moment. Detection plus timeout stays far below this bound.
  double max_detection = 1.5 * kKeepalive + 5 + kLateSlackSeconds;
  auto offline = bob->WaitFor(PresenceIs("alice", "offline"),
                              milliseconds(static_cast<int>((max_detection + kTimeoutSeconds + 1) * 1000)));
  auto offline_at = SteadyClock::now();
  ASSERT_TRUE(offline) << "no offline event after the keepalive expired";
  auto closed_at = silent.closed_at();
  ASSERT_TRUE(closed_at) << "the broker never closed the silent connection";

  double detection = SecondsBetween(silent.last_packet(), *closed_at);
  double grace = SecondsBetween(*closed_at, offline_at);
  Report("keepalive 2 s: broker closed the silent connection after", detection);
  Report("keepalive 2 s: offline after the close", grace);
  Report("keepalive 2 s: offline after the last packet", SecondsBetween(silent.last_packet(), offline_at));
  EXPECT_GE(detection, 1.5 * kKeepalive - kEarlySlackSeconds);
  EXPECT_LE(detection, max_detection);
  // The poll thread notes the close up to 20 ms late.
  EXPECT_GE(grace, kTimeoutSeconds - kEarlySlackSeconds);
  EXPECT_LE(grace, kTimeoutSeconds + kLateSlackSeconds);
  // last_active_at of a lost user is when the broker noticed the loss, not the last packet: report both.
  std::int64_t last_active = offline->json.value("last_active_at", std::int64_t{0});
  std::printf("[ measured ] keepalive 2 s: offline last_active_at - CONNACK wall time = %lld ms\n",
              static_cast<long long>(last_active - connack_wall_ms));
}

TEST_F(PresenceTest, ReconnectWithinTheWindowShowsNoChange) {
  auto alice = Device("alice", "phone");
  auto bob_setup = Device("bob", "setup");
  MakeContacts(*alice, *bob_setup);
  auto bob = Watcher("bob", "alice");
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "online"), seconds(5)));

  // Lost, then back after a second: a network blip.
  alice->Disconnect();
  std::this_thread::sleep_for(seconds(1));
  alice = Device("alice", "phone");
  // A silent connection replaced by a new one with the same client id: the broker's session takeover ends
  // the old connection while the new one is already admitted.
  SilentConnection old_network;
  ASSERT_EQ(old_network.Open(broker_->mqtt_port(), "alice:tablet", "alice", Password("alice"), 60), "");
  ChatTestClient new_network(broker_->mqtt_uri(), "alice", "tablet");
  ASSERT_EQ(new_network.Connect(Password("alice")), "");
  for (int i = 0; i < 50 && !old_network.closed_at(); ++i) std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(old_network.closed_at()) << "the takeover did not end the old connection";

  // Past the end of every grace period that could have started: still no event.
  auto unexpected = bob->WaitFor(AnyPresenceOf("alice"), milliseconds(static_cast<int>((kTimeoutSeconds + 2) * 1000)));
  EXPECT_FALSE(unexpected) << unexpected->payload;

  // The device count is still right: both devices logging out gives offline at once.
  LogOut(new_network);
  EXPECT_FALSE(bob->WaitFor(AnyPresenceOf("alice"), milliseconds(500)));
  auto logout_at = SteadyClock::now();
  LogOut(*alice);
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "offline"), seconds(5)));
  EXPECT_LT(SecondsBetween(logout_at, SteadyClock::now()), kTimeoutSeconds - 1);
}

TEST_F(PresenceTest, UserStaysOnlineWhileOneDeviceRemains) {
  auto phone = Device("alice", "phone");
  auto laptop = Device("alice", "laptop");
  auto bob_setup = Device("bob", "setup");
  MakeContacts(*phone, *bob_setup);
  auto bob = Watcher("bob", "alice");
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "online"), seconds(5)));

  LogOut(*phone);  // a clean logout of one device is not the user's
  auto lost_at = SteadyClock::now();
  auto tablet = Device("alice", "tablet");
  tablet->Disconnect();  // a lost device while another remains starts no grace period
  auto unexpected =
      bob->WaitFor(AnyPresenceOf("alice"), milliseconds(static_cast<int>((kTimeoutSeconds + 1.5) * 1000)));
  EXPECT_FALSE(unexpected) << unexpected->payload;
  Report("two devices: still online after", SecondsBetween(lost_at, SteadyClock::now()));

  // The last device leaves cleanly: offline at once, although another was lost a moment ago.
  auto logout_at = SteadyClock::now();
  LogOut(*laptop);
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "offline"), seconds(5)));
  EXPECT_LT(SecondsBetween(logout_at, SteadyClock::now()), kTimeoutSeconds - 1);

  // And the last device lost after a clean logout of another: the timeout applies.
  phone = Device("alice", "phone");
  laptop = Device("alice", "laptop");
  ASSERT_TRUE(bob->WaitFor(PresenceIs("alice", "online"), seconds(5)));
  LogOut(*phone);
  lost_at = SteadyClock::now();
  laptop->Disconnect();
  ExpectOfflineAfterTimeout(*bob, "alice", lost_at, "last of two devices lost");
}

TEST_F(PresenceTest, StrangersCannotWatchNorAsk) {
  auto alice = Device("alice", "phone");
  auto bob_setup = Device("bob", "setup");
  MakeContacts(*alice, *bob_setup);

  auto carol = Device("carol", "phone");
  EXPECT_FALSE(carol->Subscribe(PresenceTopic("alice")));
  auto carol_311 = Device("carol", "old-phone", /*version=*/4);
  carol_311->Subscribe(PresenceTopic("alice"));  // 3.1.1: SUBACK 0x80, and nothing delivered
  // Wildcards would reach everyone's presence: refused even for a user with contacts.
  EXPECT_FALSE(bob_setup->Subscribe("chat/v1/presence/+"));
  EXPECT_FALSE(bob_setup->Subscribe("chat/v1/presence/#"));
  // Nobody publishes presence but the server.
  EXPECT_EQ(carol->Publish(PresenceTopic("carol"), R"({"type":"presence","user":"carol","state":"online"})"), 0x87);

  auto reply = Request(*carol, "presence", {{"users", json::array({"alice", "carol"})}});
  ASSERT_EQ(Outcome(reply), "presence");
  ASSERT_EQ((*reply)["users"].size(), 1u) << reply->dump();  // alice left out, carol may see herself
  EXPECT_EQ((*reply)["users"][0]["user"], "carol");
  EXPECT_EQ((*reply)["users"][0]["state"], "online");

  LogOut(*alice);
  for (ChatTestClient* client : {carol.get(), carol_311.get()}) {
    auto leaked = client->WaitFor(AnyPresenceOf("alice"), milliseconds(700));
    EXPECT_FALSE(leaked) << leaked->payload;
  }
  // The contact may ask by name.
  reply = Request(*bob_setup, "presence", {{"users", json::array({"alice"})}});
  ASSERT_EQ(Outcome(reply), "presence");
  ASSERT_EQ((*reply)["users"].size(), 1u);
  EXPECT_EQ((*reply)["users"][0]["state"], "offline");
  EXPECT_GT((*reply)["users"][0]["last_active_at"].get<std::int64_t>(), 0);
}

TEST_F(PresenceTest, SmallGroupsShareLivePresenceLargeGroupsAskOnEntering) {
  auto dave = Device("dave", "phone");
  auto carol = Device("carol", "phone");
  auto frank = Device("frank", "phone");
  auto alice = Device("alice", "phone");
  auto erin = Device("erin", "phone");
  // Three members: at push_group_limit. Four: above it.
  std::string small_id = GroupWith(*dave, "small", {erin.get(), alice.get()});
  std::string big_id = GroupWith(*frank, "big", {carol.get(), dave.get(), erin.get()});
  // Everyone posts once, so this test does not depend on whether merely being a member counts (see
  // BeingAddedToAGroupExposesNoPresenceUntilTheMemberTakesPart); erin then leaves cleanly.
  for (auto [client, group] : std::vector<std::pair<ChatTestClient*, std::string>>{
           {dave.get(), small_id}, {alice.get(), small_id}, {erin.get(), small_id}, {frank.get(), big_id},
           {carol.get(), big_id}, {dave.get(), big_id}, {erin.get(), big_id}}) {
    EXPECT_EQ(Outcome(Request(*client, "send", {{"group", group}, {"text", "hi"}})), "ack") << client->user();
  }
  LogOut(*erin);

  EXPECT_TRUE(alice->Subscribe(PresenceTopic("dave")));
  EXPECT_TRUE(alice->Subscribe(PresenceTopic("erin")));
  auto dave_watch = Watcher("dave", "erin");
  EXPECT_FALSE(carol->Subscribe(PresenceTopic("frank")));  // co-members of the big group only
  EXPECT_FALSE(carol->Subscribe(PresenceTopic("dave")));
  EXPECT_FALSE(alice->Subscribe(PresenceTopic("frank")));  // no group in common
  auto dave_state = alice->WaitFor(AnyPresenceOf("dave"), seconds(5));
  ASSERT_TRUE(dave_state);
  EXPECT_EQ(dave_state->json["state"], "online");
  auto erin_state = dave_watch->WaitFor(AnyPresenceOf("erin"), seconds(5));  // retained
  ASSERT_TRUE(erin_state);
  EXPECT_EQ(erin_state->json["state"], "offline");
  EXPECT_TRUE(alice->WaitFor(PresenceIs("erin", "offline"), seconds(5)));  // the same retained state

  // Entering the big group: one request gives every member's state, whoever may watch whom.
  auto reply = Request(*carol, "presence", {{"group", big_id}});
  ASSERT_EQ(Outcome(reply), "presence");
  std::map<std::string, json> states;
  for (const json& user : (*reply)["users"]) states[user["user"]] = user;
  ASSERT_EQ(states.size(), 4u) << reply->dump();
  for (const char* user : {"frank", "carol", "dave"}) EXPECT_EQ(states[user]["state"], "online") << user;
  EXPECT_EQ(states["erin"]["state"], "offline");
  for (const char* user : {"frank", "carol", "dave", "erin"}) {
    EXPECT_GT(states[user]["last_active_at"].get<std::int64_t>(), 0) << user;
  }
  EXPECT_EQ(states["erin"]["last_active_at"], erin_state->json["last_active_at"]);
  // By name, carol sees only whom she may watch: herself.
  reply = Request(*carol, "presence", {{"users", json::array({"frank", "dave", "carol"})}});
  ASSERT_EQ(Outcome(reply), "presence");
  ASSERT_EQ((*reply)["users"].size(), 1u) << reply->dump();
  EXPECT_EQ((*reply)["users"][0]["user"], "carol");
  // Non-members cannot ask about a group.
  EXPECT_EQ(Outcome(Request(*alice, "presence", {{"group", big_id}})), "error:not_found");

  // Live updates for co-members of the small group.
  erin = Device("erin", "phone");
  EXPECT_TRUE(dave_watch->WaitFor(PresenceIs("erin", "online"), seconds(5)));
  EXPECT_TRUE(alice->WaitFor(PresenceIs("erin", "online"), seconds(5)));

  // Removed from the small group, erin shares only the big one with dave: no more watching.
  ASSERT_EQ(Outcome(Request(*dave, "group_remove", {{"group", small_id}, {"user", "erin"}})), "group");
  EXPECT_FALSE(dave->Subscribe(PresenceTopic("erin")));
  EXPECT_FALSE(alice->Subscribe(PresenceTopic("erin")));
  LogOut(*erin);
  for (ChatTestClient* client : {dave_watch.get(), alice.get()}) {
    auto leaked = client->WaitFor(AnyPresenceOf("erin"), milliseconds(1000));
    EXPECT_FALSE(leaked) << client->client_id() << ": an existing subscription outlived the relationship: "
                         << leaked->payload;
  }
  // dave's presence is still shared with alice (both still in the small group).
  LogOut(*dave_watch);
  LogOut(*dave);
  EXPECT_TRUE(alice->WaitFor(PresenceIs("dave", "offline"), seconds(5)));
}

// PROTOCOL.md: co-members of a small group may subscribe to each other's presence, and a group presence
// query answers every member's state; neither depends on a member having posted or read anything.
TEST_F(PresenceTest, BeingAddedToAGroupExposesNoPresenceUntilTheMemberTakesPart) {
  // Joining a group (accepting an invitation, or being added by a contact) must not by itself let the
  // group's members watch the new member.
  auto dave = Device("dave", "phone");
  auto frank = Device("frank", "phone");
  auto carol = Device("carol", "phone");
  auto erin = Device("erin", "phone");
  std::string small_id = GroupWith(*dave, "small", {erin.get()});
  std::string big_id = GroupWith(*frank, "big", {carol.get(), dave.get(), erin.get()});

  EXPECT_FALSE(dave->Subscribe(PresenceTopic("erin"))) << "erin only joined";
  EXPECT_TRUE(erin->Subscribe(PresenceTopic("dave"))) << "dave created the small group";
  auto reply = Request(*carol, "presence", {{"group", big_id}});
  ASSERT_EQ(Outcome(reply), "presence");
  std::vector<std::string> users;
  for (const json& user : (*reply)["users"]) users.push_back(user["user"]);
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"carol", "frank"})) << reply->dump();  // frank created it; carol is carol

  // Once erin posts in the small group, its co-members may watch her.
  ASSERT_EQ(Outcome(Request(*erin, "send", {{"group", small_id}, {"text", "hi"}})), "ack");
  EXPECT_TRUE(dave->Subscribe(PresenceTopic("erin")));
}

TEST_F(PresenceTest, ContactRequestAcceptRemoveAndTheirEvents) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  auto carol = Device("carol", "phone");

  EXPECT_EQ(Outcome(Request(*alice, "contact_request", {{"user", "alice"}})), "error:bad_request");
  EXPECT_EQ(Outcome(Request(*alice, "contact_request", {{"user", "ghost"}})), "error:unknown_peer");
  EXPECT_EQ(Outcome(Request(*alice, "contact_request", json::object())), "error:bad_request");
  EXPECT_EQ(Outcome(Request(*alice, "contact_accept", {{"user", "bob"}})), "error:not_found");  // nothing to accept

  // Collects the live contact events each user's device receives, to compare with sync afterwards.
  std::map<std::string, std::vector<json>> live;
  auto expect_event = [&](ChatTestClient& client, const std::string& event, const std::string& other) {
    auto got = client.WaitFor(OfType("contact"), seconds(5));
    ASSERT_TRUE(got) << client.user() << ": no contact event " << event << " " << other;
    EXPECT_EQ(got->topic, "chat/v1/user/" + client.user() + "/msg");
    EXPECT_EQ(got->json["event"], event) << got->payload;
    EXPECT_EQ(got->json["user"], other) << got->payload;
    EXPECT_TRUE(got->json.contains("seq")) << got->payload;
    EXPECT_TRUE(got->json.contains("ts")) << got->payload;
    live[client.user()].push_back(got->json);
  };
  auto contacts_of = [&](ChatTestClient& client) {
    auto reply = Request(client, "contacts", json::object());
    std::map<std::string, std::string> out;
    if (Outcome(reply) != "contacts") {
      ADD_FAILURE() << "contacts: " << Outcome(reply);
      return out;
    }
    for (const json& c : (*reply)["contacts"]) out[c["user"]] = c["state"];
    return out;
  };
  using States = std::map<std::string, std::string>;

  // 1. alice asks bob.
  auto reply = Request(*alice, "contact_request", {{"user", "bob"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_request");
  expect_event(*alice, "outgoing", "bob");
  expect_event(*bob, "incoming", "alice");
  EXPECT_EQ(contacts_of(*alice), (States{{"bob", "outgoing"}}));
  EXPECT_EQ(contacts_of(*bob), (States{{"alice", "incoming"}}));
  EXPECT_FALSE(bob->Subscribe(PresenceTopic("alice")));  // a request is not yet a contact
  EXPECT_FALSE(alice->Subscribe(PresenceTopic("bob")));
  // Asking again changes nothing.
  EXPECT_EQ(Outcome(Request(*alice, "contact_request", {{"user", "bob"}})), "ok");
  EXPECT_FALSE(alice->WaitFor(OfType("contact"), milliseconds(300)));

  // 2. bob accepts: contacts, and each may watch the other.
  reply = Request(*bob, "contact_accept", {{"user", "alice"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_accept");
  expect_event(*alice, "added", "bob");
  expect_event(*bob, "added", "alice");
  EXPECT_EQ(contacts_of(*alice), (States{{"bob", "contact"}}));
  EXPECT_EQ(contacts_of(*bob), (States{{"alice", "contact"}}));
  auto bob_watch = Watcher("bob", "alice");
  EXPECT_TRUE(bob_watch->WaitFor(PresenceIs("alice", "online"), seconds(5)));
  EXPECT_TRUE(alice->Subscribe(PresenceTopic("bob")));

  // 3-4. carol asks alice; alice asking carol back is an acceptance.
  EXPECT_EQ(Outcome(Request(*carol, "contact_request", {{"user", "alice"}})), "ok");
  expect_event(*carol, "outgoing", "alice");
  expect_event(*alice, "incoming", "carol");
  reply = Request(*alice, "contact_request", {{"user", "carol"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_request") << "PROTOCOL.md: each request answers ok with its own op";
  expect_event(*alice, "added", "carol");
  expect_event(*carol, "added", "alice");
  auto carol_watch = Watcher("carol", "alice");
  EXPECT_TRUE(carol_watch->WaitFor(PresenceIs("alice", "online"), seconds(5)));

  // 5-6. carol asks bob; bob declines.
  EXPECT_EQ(Outcome(Request(*carol, "contact_request", {{"user", "bob"}})), "ok");
  expect_event(*carol, "outgoing", "bob");
  expect_event(*bob, "incoming", "carol");
  reply = Request(*bob, "contact_remove", {{"user", "carol"}});
  EXPECT_EQ(Outcome(reply), "ok");
  EXPECT_EQ(reply->value("op", ""), "contact_remove");
  expect_event(*bob, "removed", "carol");
  expect_event(*carol, "removed", "bob");
  EXPECT_EQ(contacts_of(*bob), (States{{"alice", "contact"}}));
  EXPECT_EQ(contacts_of(*carol), (States{{"alice", "contact"}}));

  // 7. alice ends the contact with bob: bob can no longer watch, not even through his old subscription.
  EXPECT_EQ(Outcome(Request(*alice, "contact_remove", {{"user", "bob"}})), "ok");
  expect_event(*alice, "removed", "bob");
  expect_event(*bob, "removed", "alice");
  EXPECT_EQ(contacts_of(*alice), (States{{"carol", "contact"}}));
  EXPECT_EQ(contacts_of(*bob), States{});
  EXPECT_FALSE(bob->Subscribe(PresenceTopic("alice")));
  EXPECT_EQ(Outcome(Request(*alice, "contact_remove", {{"user", "bob"}})), "error:not_found");
  LogOut(*alice);
  EXPECT_TRUE(carol_watch->WaitFor(PresenceIs("alice", "offline"), seconds(5)));  // still a contact
  auto leaked = bob_watch->WaitFor(AnyPresenceOf("alice"), milliseconds(700));
  EXPECT_FALSE(leaked) << "an old subscription outlived the contact: " << leaked->payload;

  // The sync queue holds exactly the live events, in seq order.
  alice = Device("alice", "phone");
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> expected = {
      {"alice", {{"outgoing", "bob"}, {"added", "bob"}, {"incoming", "carol"}, {"added", "carol"}, {"removed", "bob"}}},
      {"bob",
       {{"incoming", "alice"}, {"added", "alice"}, {"incoming", "carol"}, {"removed", "carol"}, {"removed", "alice"}}},
      {"carol", {{"outgoing", "alice"}, {"added", "alice"}, {"outgoing", "bob"}, {"removed", "bob"}}}};
  for (ChatTestClient* client : {alice.get(), bob.get(), carol.get()}) {
    auto sync = Request(*client, "sync", {{"after", 0}});
    ASSERT_EQ(Outcome(sync), "sync") << client->user();
    std::vector<std::pair<std::string, std::string>> got;
    std::int64_t seq = 0;
    for (const json& event : (*sync)["events"]) {
      EXPECT_EQ(event["type"], "contact") << event.dump();
      EXPECT_EQ(event["seq"], ++seq) << event.dump();
      got.emplace_back(event.value("event", ""), event.value("user", ""));
    }
    EXPECT_EQ(got, expected[client->user()]) << client->user();
    EXPECT_EQ((*sync)["last_seq"], seq);
    EXPECT_EQ((*sync)["events"], json(live[client->user()])) << client->user() << ": sync differs from live";
  }
}

TEST_F(PresenceTest, TypingReachesThePeerAndIsNeverStored) {
  auto alice = Device("alice", "phone");
  auto alice_laptop = Device("alice", "laptop");
  auto bob = Device("bob", "phone");
  auto carol = Device("carol", "phone");
  // A persistent session of bob's, away while alice types: QoS 0 typing is not queued for it.
  ChatTestClient bob_tablet(broker_->mqtt_uri(), "bob", "tablet");
  ASSERT_EQ(bob_tablet.Connect(Password("bob"), /*clean=*/false), "");
  ASSERT_TRUE(bob_tablet.SubscribeOwn());
  bob_tablet.Disconnect();

  alice->Send("bob", "first", "t1");
  ASSERT_TRUE(alice->WaitForType("ack"));
  ASSERT_TRUE(bob->WaitFor([](const Received& r) { return r.json.value("text", "") == "first"; }));

  // A stranger's typing reaches nobody (issue 18 item 12): carol is no contact of bob's.
  EXPECT_EQ(carol->Publish("chat/v1/req/typing", R"({"to":"bob","rid":"t-stranger"})"), 0x87);
  auto refused = carol->WaitForType("error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "not_allowed");
  EXPECT_EQ((*refused)["rid"], "t-stranger");
  EXPECT_FALSE(bob->WaitFor(OfType("typing"), milliseconds(300)));

  // Typing follows presence: contacts see each other typing.
  MakeContacts(*alice, *bob);
  EXPECT_LT(alice->Publish("chat/v1/req/typing", R"({"to":"bob"})"), 0x80);
  auto typing = bob->WaitFor(OfType("typing"), seconds(5));
  ASSERT_TRUE(typing);
  EXPECT_EQ(typing->topic, "chat/v1/user/bob/msg");
  EXPECT_EQ(typing->json, json({{"type", "typing"}, {"from", "alice"}, {"to", "bob"}}));
  EXPECT_FALSE(typing->json.contains("seq"));

  alice->Send("bob", "second", "t2");
  ASSERT_TRUE(alice->WaitForType("ack"));
  // No reply to a typing indicator, and alice's own devices do not see it.
  for (ChatTestClient* client : {alice.get(), alice_laptop.get()}) {
    for (const Received& r : client->Collect(milliseconds(500))) {
      EXPECT_NE(r.json.value("type", ""), "typing") << client->client_id() << ": " << r.payload;
      if (r.topic == "chat/v1/user/alice/reply") {
        EXPECT_EQ(r.json.value("type", ""), "ack") << r.payload;
      }
    }
  }

  // Not stored: sync holds the two messages and the two contact events only, with consecutive seqs.
  auto sync = Request(*bob, "sync", {{"after", 0}});
  ASSERT_EQ(Outcome(sync), "sync");
  ASSERT_EQ((*sync)["events"].size(), 4u) << sync->dump();
  std::vector<std::string> kinds;
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*sync)["events"][i]["seq"], i + 1);
    kinds.push_back((*sync)["events"][i].value("text", (*sync)["events"][i].value("event", "")));
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"first", "incoming", "added", "second"}));
  EXPECT_EQ((*sync)["last_seq"], 4);
  auto history = Request(*bob, "history", {{"peer", "alice"}});
  ASSERT_EQ(Outcome(history), "history");
  EXPECT_EQ((*history)["messages"].size(), 2u);

  // The tablet comes back: the two messages were queued for its session, the typing was not.
  ASSERT_EQ(bob_tablet.Connect(Password("bob"), /*clean=*/false), "");
  int messages = 0;
  for (const Received& r : bob_tablet.Collect(milliseconds(1000))) {
    EXPECT_NE(r.json.value("type", ""), "typing") << r.payload;
    if (r.json.value("type", "") == "message") ++messages;
  }
  EXPECT_EQ(messages, 2);

  // Groups: every other member, never the typist.
  // bob is alice's contact by now and is added; carol is invited and joins.
  auto group = Request(*alice, "group_create", {{"name", "typing"}, {"members", json::array({"bob", "carol"})}});
  ASSERT_EQ(Outcome(group), "group");
  EXPECT_EQ((*group)["invited"], json::array({"carol"}));
  std::string group_id = (*group)["group"];
  ASSERT_EQ(Outcome(Request(*carol, "group_join", {{"group", group_id}})), "group");
  EXPECT_LT(alice->Publish("chat/v1/req/typing", json({{"group", group_id}}).dump()), 0x80);
  for (ChatTestClient* client : {bob.get(), carol.get()}) {
    auto got = client->WaitFor(OfType("typing"), seconds(5));
    ASSERT_TRUE(got) << client->user();
    EXPECT_EQ(got->json, json({{"type", "typing"}, {"from", "alice"}, {"group", group_id}}));
  }
  EXPECT_FALSE(alice->WaitFor(OfType("typing"), milliseconds(300)));
  auto dave = Device("dave", "phone");
  EXPECT_EQ(Outcome(Request(*dave, "typing", {{"group", group_id}})), "error:not_found");
  EXPECT_EQ(Outcome(Request(*dave, "typing", {{"to", "ghost"}})), "error:unknown_peer");
  EXPECT_EQ(Outcome(Request(*dave, "typing", json::object())), "error:bad_request");
  // Group events are in the queue, typing is not.
  sync = Request(*carol, "sync", {{"after", 0}});
  ASSERT_EQ(Outcome(sync), "sync");
  for (const json& event : (*sync)["events"]) EXPECT_NE(event["type"], "typing");
}

TEST_F(PresenceTest, TypingIsRateLimited) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  MakeContacts(*alice, *bob);
  auto started = SteadyClock::now();
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 12; ++i) {
    int code = alice->Publish("chat/v1/req/typing", R"({"to":"bob","rid":"ty)" + std::to_string(i) + "\"}");
    if (code >= 0x80) {
      ++refused;
    } else {
      ++accepted;
    }
  }
  double elapsed = SecondsBetween(started, SteadyClock::now());
  Report("typing: 12 indicators sent in", elapsed);
  // Bursts of 5 at 2/s: the first 5 pass, then roughly one per half second of the loop.
  EXPECT_GE(accepted, 5);
  EXPECT_LE(accepted, 5 + static_cast<int>(2 * elapsed) + 1);
  EXPECT_GE(refused, 1);
  auto error = alice->WaitForType("error", seconds(5));
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["code"], "rate_limited");
  EXPECT_EQ((*error)["op"], "typing");
  int delivered = 0;
  for (const Received& r : bob->Collect(milliseconds(700))) delivered += r.json.value("type", "") == "typing";
  EXPECT_EQ(delivered, accepted);

  // The bucket refills at 2/s.
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_LT(alice->Publish("chat/v1/req/typing", R"({"to":"bob"})"), 0x80);
  EXPECT_TRUE(bob->WaitFor(OfType("typing"), seconds(5)));
}

TEST_F(PresenceTest, AfterABrokerRestartNobodyIsOnlineAndLastActiveSurvives) {
  auto alice = Device("alice", "phone");
  auto bob = Device("bob", "phone");
  MakeContacts(*alice, *bob);
  ASSERT_TRUE(bob->Subscribe(PresenceTopic("alice")));
  auto online = bob->WaitFor(PresenceIs("alice", "online"), seconds(5));
  ASSERT_TRUE(online);
  std::int64_t online_at = online->json.value("last_active_at", std::int64_t{0});

  for (bool crash : {false, true}) {
    const char* how = crash ? "kill" : "stop";
    if (crash) {
      broker_->Kill();
    } else {
      ASSERT_EQ(broker_->Stop(), 0);
    }
    ASSERT_EQ(broker_->Start(), "") << how;
    alice = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), "alice", "phone");  // not connected
    bob = Device("bob", "phone");
    ASSERT_TRUE(bob->Subscribe(PresenceTopic("alice"))) << how;
    auto retained = bob->WaitFor(AnyPresenceOf("alice"), milliseconds(1500));
    EXPECT_FALSE(retained) << how << ": a retained state survived the restart: " << retained->payload;
    auto reply = Request(*bob, "presence", {{"users", json::array({"alice"})}});
    ASSERT_EQ(Outcome(reply), "presence") << how;
    ASSERT_EQ((*reply)["users"].size(), 1u) << how;
    EXPECT_EQ((*reply)["users"][0]["state"], "offline") << how;
    EXPECT_GE((*reply)["users"][0]["last_active_at"].get<std::int64_t>(), online_at) << how;

    // Presence works as before once alice is back.
    alice = Device("alice", "phone");
    online = bob->WaitFor(PresenceIs("alice", "online"), seconds(5));
    ASSERT_TRUE(online) << how;
    EXPECT_GE(online->json.value("last_active_at", std::int64_t{0}), online_at);
    online_at = online->json.value("last_active_at", std::int64_t{0});
  }
}

}  // namespace
}  // namespace chat::harness
