// PresenceTest: a real broker with a 1 s heartbeat and a 3 s timeout, so that every way of losing a device
// (bye, plain DISCONNECT, keepalive expiry, killed process, broker restart) can be timed in seconds; with
// the devices, watchers, requests and offline-delay checks the presence, typing and contact tests share.
#pragma once

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
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness/broker_process.h"
#include "tests/harness/test_client.h"

extern char** environ;

namespace chat::harness {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

inline constexpr double kTimeoutSeconds = 3;
inline constexpr milliseconds kHeartbeatInterval = milliseconds(1000);
// Groups of up to 3 members share presence live; 4 is already a "large" group.
inline constexpr char kPresenceYaml[] =
    "presence:\n  heartbeat_seconds: 1\n  timeout_seconds: 3\n  push_group_limit: 3\n";
// The broker's grace deadline starts no earlier than the test's own mark, so only clock rounding can make
// an offline event look early; the machine is slow and shared, so late is bounded generously.
inline constexpr double kEarlySlackSeconds = 0.25;
inline constexpr double kLateSlackSeconds = 4;
// Long enough for a lost device's offline event to arrive under load, and still bounded.
inline constexpr milliseconds kOfflineWait = milliseconds(static_cast<int>((kTimeoutSeconds + kLateSlackSeconds + 1) * 1000));

inline std::string Password(const std::string& user) { return "pw-" + user; }

inline double SecondsBetween(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

inline std::int64_t WallMillis() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string PresenceTopic(const std::string& user) { return "chat/v1/presence/" + user; }

inline std::function<bool(const Received&)> PresenceIs(const std::string& user, const std::string& state) {
  return [user, state](const Received& r) {
    return r.topic == PresenceTopic(user) && r.json.is_object() && r.json.value("state", "") == state;
  };
}

inline std::function<bool(const Received&)> AnyPresenceOf(const std::string& user) {
  return [user](const Received& r) { return r.topic == PresenceTopic(user); };
}

inline std::function<bool(const Received&)> OfType(const std::string& type) {
  return [type](const Received& r) { return r.json.is_object() && r.json.value("type", "") == type; };
}

// "(no reply)", the error code, or the reply's type: one string to compare in expectations.
inline std::string Outcome(const std::optional<json>& reply) {
  if (!reply) return "(no reply)";
  if (reply->value("type", "") == "error") return "error:" + reply->value("code", "");
  return reply->value("type", "");
}

// Prints a measurement so the run's log shows the real delays, not only that they were within bounds.
inline void Report(const std::string& what, double value_seconds) {
  std::printf("[ measured ] %s: %.3f s\n", what.c_str(), value_seconds);
  std::fflush(stdout);
}

// A raw TCP MQTT 3.1.1 connection that logs in and then sends only what the test asks for: nothing at all
// (a phone whose network vanished, which only the broker's keepalive check can notice), PINGREQs on a
// steady beat (an MQTT library keeping a frozen app's connection alive), or a QoS 0 PUBLISH. Paho cannot
// be made to ping on a schedule: its pings come at the keepalive, late under load, so a short keepalive
// races the broker's 1.5 × keepalive cut-off. A thread reads what the broker sends and notes when it
// closes the socket.
class RawMqttConnection {
 public:
  RawMqttConnection() = default;
  RawMqttConnection(const RawMqttConnection&) = delete;
  RawMqttConnection& operator=(const RawMqttConnection&) = delete;
  ~RawMqttConnection() {
    stop_ = true;
    if (pinger_.joinable()) pinger_.join();
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
    AddString(body, "MQTT");
    body.push_back(4);                                  // protocol level: 3.1.1
    body.push_back(static_cast<char>(0x80 | 0x40 | 0x02));  // username, password, clean session
    body.push_back(static_cast<char>(keepalive_seconds >> 8));
    body.push_back(static_cast<char>(keepalive_seconds & 0xff));
    AddString(body, client_id);
    AddString(body, user);
    AddString(body, password);
    if (!Send(Packet('\x10', body))) return "send failed";
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

  // Sends a PINGREQ every `interval` until destroyed: the connection stays alive without any chat traffic.
  void StartPinging(milliseconds interval) {
    pinger_ = std::thread([this, interval] {
      while (!stop_) {
        Send(std::string("\xc0\x00", 2));
        for (auto until = SteadyClock::now() + interval; !stop_ && SteadyClock::now() < until;) {
          std::this_thread::sleep_for(milliseconds(10));
        }
      }
    });
  }

  // A QoS 0 PUBLISH; returns false when the socket would not take it.
  bool Publish(const std::string& topic, const std::string& payload) {
    std::string body;
    AddString(body, topic);
    body += payload;
    return Send(Packet('\x30', body));
  }

  SteadyClock::time_point last_packet() const { return last_packet_; }
  // When the broker closed the connection, if it has.
  std::optional<SteadyClock::time_point> closed_at() const {
    std::int64_t ns = closed_ns_;
    if (ns == 0) return std::nullopt;
    return SteadyClock::time_point(SteadyClock::duration(ns));
  }

 private:
  static void AddString(std::string& body, const std::string& s) {
    body.push_back(static_cast<char>(s.size() >> 8));
    body.push_back(static_cast<char>(s.size() & 0xff));
    body += s;
  }

  static std::string Packet(char first_byte, const std::string& body) {
    std::string packet(1, first_byte);
    for (std::size_t left = body.size();;) {  // remaining length, 7 bits per byte
      char byte = static_cast<char>(left & 0x7f);
      left >>= 7;
      packet.push_back(static_cast<char>(byte | (left > 0 ? 0x80 : 0)));
      if (left == 0) break;
    }
    return packet + body;
  }

  // The pinger and the test thread both write: one packet at a time.
  bool Send(const std::string& packet) {
    std::lock_guard<std::mutex> lock(send_mutex_);
    return send(fd_, packet.data(), packet.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(packet.size());
  }

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
  std::mutex send_mutex_;
  std::thread watcher_;
  std::thread pinger_;
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

  // A connected device of `user`, subscribed to its own topics, heartbeating every second as a real
  // client does (a device silent for the 3 s timeout is shown offline though still connected).
  std::unique_ptr<ChatTestClient> Device(const std::string& user, const std::string& device, int version = 5) {
    auto client = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), user, device, version);
    EXPECT_EQ(client->Connect(Password(user)), "") << user << ":" << device;
    EXPECT_TRUE(client->SubscribeOwn());
    client->StartHeartbeats(kHeartbeatInterval);
    return client;
  }

  // A device of `viewer` watching `subject`'s presence (the subscription is expected to be granted),
  // heartbeating like Device.
  std::unique_ptr<ChatTestClient> Watcher(const std::string& viewer, const std::string& subject,
                                          const std::string& device = "watch") {
    auto client = std::make_unique<ChatTestClient>(broker_->mqtt_uri(), viewer, device);
    EXPECT_EQ(client->Connect(Password(viewer)), "");
    EXPECT_TRUE(client->Subscribe(PresenceTopic(subject))) << viewer << " watching " << subject;
    client->StartHeartbeats(kHeartbeatInterval);
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

}  // namespace chat::harness
