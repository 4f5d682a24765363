// Group fan-out: a group of N members, every one online with one device, a few of them posting; every
// message must reach every member. Chat server: accounts g000.., the owner's contacts put into one group at
// once (group_create before the load connects, so its events wait in the sync queues instead of landing in
// the measurement), each device subscribed to its own topics. Bare Mosquitto: N clients subscribed to one
// topic, the same senders publishing there at QoS 1, so each message reaches all N, senders included.
// Either way members x senders x messages deliveries.
#include <mosquitto.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/bench/suite.h"
#include "core/topic_format.h"

namespace chat::bench {
namespace {

constexpr char kBareGroupTopic[] = "bench/group";
constexpr int kTextBytes = 100;
// The first character of every chat cmid ("g<sender>-<n>"); each round has a broker of its own.
constexpr char kCmidPrefix = 'g';

struct GroupLoad {
  int members = 100;
  int senders = 4;
  int messages = 250;  // per sender
  int window = 8;      // per sender: sends in flight until every member has them and they are acknowledged
};

std::string MemberUser(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "g%03d", i);
  return name;
}

// Who sent a delivered message, which of theirs it is, and when it was sent.
struct Stamp {
  std::int64_t ns = 0;
  int sender = -1;
  std::int64_t n = -1;
};

// Reads "bench-t=<ns> s=<sender> n=<n>" at `at` (where FindStamp found it); false when it is malformed.
bool ReadStamp(const char* at, Stamp* out) {
  char* end = nullptr;
  out->ns = std::strtoll(at + sizeof(kStampMarker) - 1, &end, 10);
  if (std::strncmp(end, " s=", 3) != 0) return false;
  out->sender = static_cast<int>(std::strtol(end + 3, &end, 10));
  if (std::strncmp(end, " n=", 3) != 0) return false;
  out->n = std::strtoll(end + 3, &end, 10);
  return true;
}

class GroupFanoutRun;

// One member's device. Callbacks run on the one loop thread, so no synchronisation.
struct Member {
  GroupFanoutRun* run = nullptr;
  int index = 0;
  mosquitto* client = nullptr;
  int connack = -1;  // -1 until the CONNACK arrives
  bool subscribed = false;
  bool subscription_refused = false;
  // As a sender (index < senders).
  std::int64_t sent = 0;
  std::int64_t acked = 0;     // bare: PUBACKs; chat: chat acks and error replies
  std::int64_t rejected = 0;  // refused sends: never delivered
};

class GroupFanoutRun {
 public:
  GroupFanoutRun(const GroupLoad& load, Server server, const SuiteContext& context, std::string label)
      : load_(load), chat_(server == Server::kChat), context_(context), label_(std::move(label)) {}

  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement result;
    auto deadline = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    if (chat_) result.error = CreateGroup(broker.mqtt_port());
    if (result.error.empty()) result.error = Connect(broker.mqtt_port(), deadline);
    std::int64_t start_ns = NowNs();
    double generator_before = CpuSeconds(RUSAGE_SELF);
    BrokerCpu broker_before = ReadBrokerCpu(broker);  // logins and the group's creation are not deliveries
    if (result.error.empty()) result.error = Measure(deadline);
    BrokerCpu broker_after = ReadBrokerCpu(broker);
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - generator_before;
    result.broker_cpu_s = broker_after.process_s - broker_before.process_s;
    DisconnectAll(Clients());

    std::int64_t expected = static_cast<std::int64_t>(load_.members) * load_.senders * load_.messages;
    std::int64_t rejected = 0;
    for (const Member& m : members_) rejected += m.rejected;
    result.completed = result.error.empty() && delivered_ == expected && malformed_ == 0;
    if (result.error.empty() && !result.completed) {
      result.error = std::to_string(delivered_) + " of " + std::to_string(expected) + " delivered, " +
                     std::to_string(rejected) + " sends rejected, " + std::to_string(malformed_) +
                     " malformed deliveries";
    }
    double elapsed_s = static_cast<double>(std::max(start_ns, last_delivery_ns_) - start_ns) / 1e9;
    double per_delivery = delivered_ > 0 ? 1e6 / static_cast<double>(delivered_) : 0;
    LatencySummary latency = Summarize(latencies_ns_);
    result.Set("deliveries_per_s", elapsed_s > 0 ? static_cast<double>(delivered_) / elapsed_s : 0);
    result.Set("broker_cpu_us_per_delivery", result.broker_cpu_s * per_delivery);
    result.Set("loop_cpu_us_per_delivery", (broker_after.loop_s - broker_before.loop_s) * per_delivery);
    result.Set("generator_cpu_us_per_delivery", result.generator_cpu_s * per_delivery);
    result.Set("latency_p50_ms", latency.p50_ms);
    result.Set("latency_p99_ms", latency.p99_ms);
    result.Set("latency_max_ms", latency.max_ms);
    return result;
  }

 private:
  static void OnConnect(mosquitto*, void* data, int reason, int, const mosquitto_property*) {
    static_cast<Member*>(data)->connack = reason;
  }

  static void OnSubscribe(mosquitto*, void* data, int, int count, const int* granted, const mosquitto_property*) {
    Member* m = static_cast<Member*>(data);
    m->subscribed = true;
    m->subscription_refused = count < 1 || granted[0] >= 0x80;
  }

  // Mosquitto acknowledges a bare send with its PUBACK. The chat server's PUBACK only says it has the
  // request: its chat ack says stored, and a refusal comes as an error reply (OnMessage).
  static void OnPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
    Member* m = static_cast<Member*>(data);
    if (m->run->chat_) return;
    ++m->acked;
    if (reason >= 0x80) ++m->rejected;
  }

  static void OnMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
    Member* m = static_cast<Member*>(data);
    if (m->run->chat_ && m->run->TakeReply(m, message)) return;
    m->run->Deliver(m, message);
  }

  // Chat: a reply to one of `m`'s sends. The chat ack is also the sending device's copy of its message
  // (it carries the device's seq; the device gets no event of its own send), so it counts toward the
  // message reaching every member, as the sender's own copy does on bare Mosquitto.
  bool TakeReply(Member* m, const mosquitto_message* message) {
    SendReply reply = ReadSendReply(message->payload, message->payloadlen, kCmidPrefix);
    if (reply.kind == SendReply::Kind::kOther) return false;
    ++m->acked;
    if (reply.kind == SendReply::Kind::kError) {
      ++m->rejected;
    } else if (reply.sender != m->index || reply.n >= load_.messages) {
      ++malformed_;
    } else {
      Count(m->index, reply.n);
    }
    return true;
  }

  void Deliver(const Member* m, const mosquitto_message* message) {
    const char* found = FindStamp(message->payload, message->payloadlen);
    if (found == nullptr) return;  // not a message of the load (nothing else is expected)
    Stamp stamp;
    if (!ReadStamp(found, &stamp) || stamp.sender < 0 || stamp.sender >= load_.senders || stamp.n < 0 ||
        stamp.n >= load_.messages) {
      ++malformed_;
      return;
    }
    // The latency covers the other members' copies only: the sender's own is the chat ack on the chat
    // server, which carries no stamp.
    if (stamp.sender != m->index) latencies_ns_.push_back(NowNs() - stamp.ns);
    Count(stamp.sender, stamp.n);
  }

  // One more member has `sender`'s message n.
  void Count(int sender, std::int64_t n) {
    ++delivered_;
    last_delivery_ns_ = NowNs();
    std::uint16_t& copies = copies_[static_cast<std::size_t>(sender)][static_cast<std::size_t>(n)];
    if (++copies == load_.members) ++complete_[static_cast<std::size_t>(sender)];
  }

  std::vector<mosquitto*> Clients() const {
    std::vector<mosquitto*> clients;
    for (const Member& m : members_) clients.push_back(m.client);
    return clients;
  }

  // Chat: the group, created by member 0 (the owner) with everyone, from a device of its own.
  std::string CreateGroup(int port) {
    nlohmann::json others = nlohmann::json::array();
    for (int i = 1; i < load_.members; ++i) others.push_back(MemberUser(i));
    std::string payload;
    std::string error = RequestOnce(
        port, MemberUser(0), kBenchPassword, "setup", core::RequestTopic(core::RequestOp::kGroupCreate),
        nlohmann::json{{"rid", "create"}, {"name", "bench"}, {"members", others}}.dump(), "create",
        std::chrono::seconds(context_.timeout_seconds), &payload);
    if (!error.empty()) return "group_create: " + error;
    nlohmann::json reply = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object() || reply.value("type", "") != "group") return "group_create failed: " + payload;
    if (reply["members"].size() != static_cast<std::size_t>(load_.members)) {
      return "group_create left members out: " + payload;
    }
    group_ = reply.value("group", "");
    return "";
  }

  std::string Connect(int port, Clock::time_point deadline) {
    members_.resize(static_cast<std::size_t>(load_.members));
    copies_.assign(static_cast<std::size_t>(load_.senders),
                   std::vector<std::uint16_t>(static_cast<std::size_t>(load_.messages), 0));
    complete_.assign(static_cast<std::size_t>(load_.senders), 0);
    latencies_ns_.reserve(static_cast<std::size_t>(load_.members) * load_.senders * load_.messages);
    Server server = chat_ ? Server::kChat : Server::kBare;
    for (int i = 0; i < load_.members; ++i) {
      Member& m = members_[static_cast<std::size_t>(i)];
      m.run = this;
      m.index = i;
      std::string user = MemberUser(i);
      m.client = clients_.New(BenchClientId(server, user), true, &m);
      if (m.client == nullptr) return "mosquitto_new failed for " + user;
      mosquitto_connect_v5_callback_set(m.client, OnConnect);
      mosquitto_subscribe_v5_callback_set(m.client, OnSubscribe);
      mosquitto_publish_v5_callback_set(m.client, OnPublish);
      mosquitto_message_v5_callback_set(m.client, OnMessage);
      mosquitto_username_pw_set(m.client, user.c_str(), kBenchPassword);
      if (int rc = mosquitto_connect(m.client, "127.0.0.1", port, 60); rc != MOSQ_ERR_SUCCESS) {
        return "connect " + user + ": " + mosquitto_strerror(rc);
      }
    }
    std::vector<mosquitto*> clients = Clients();
    std::string error = AwaitConnacks(
        clients, deadline, context_.timeout_seconds, [&](std::size_t i) { return members_[i].connack; },
        [&](std::size_t i) {
          return "login refused for " + MemberUser(members_[i].index) + " (CONNACK " +
                 std::to_string(members_[i].connack) + ")";
        },
        "connecting");
    if (!error.empty()) return error;
    for (const Member& m : members_) {
      std::string filter = chat_ ? core::UserTopic(MemberUser(m.index), "#") : kBareGroupTopic;
      if (int rc = mosquitto_subscribe_v5(m.client, nullptr, filter.c_str(), 1, 0, nullptr); rc != MOSQ_ERR_SUCCESS) {
        return std::string("subscribe: ") + mosquitto_strerror(rc);
      }
    }
    error = DriveClients(clients, deadline, context_.timeout_seconds, [&] {
      return std::all_of(members_.begin(), members_.end(), [](const Member& m) { return m.subscribed; });
    });
    if (!error.empty()) return "subscribing: " + error;
    for (const Member& m : members_) {
      if (m.subscription_refused) return "subscription refused for " + MemberUser(m.index);
    }
    return "";
  }

  std::string Measure(Clock::time_point deadline) {
    std::int64_t expected = static_cast<std::int64_t>(load_.members) * load_.senders * load_.messages;
    return DriveClients(
        Clients(), deadline, context_.timeout_seconds,
        [&] {
          ShowProgress(label_ + ": " + std::to_string(delivered_) + "/" + std::to_string(expected) + " delivered");
          for (int s = 0; s < load_.senders; ++s) {
            const Member& m = members_[static_cast<std::size_t>(s)];
            if (complete_[static_cast<std::size_t>(s)] + m.rejected < load_.messages) return false;
            if (m.acked < load_.messages) return false;
          }
          return true;
        },
        [&] {
          for (int s = 0; s < load_.senders; ++s) TopUp(&members_[static_cast<std::size_t>(s)]);
        });
  }

  // Sends while the sender's window allows. The window counts messages not yet delivered to every member,
  // so no member's queue in the broker grows past senders x window (far below Mosquitto's
  // max_queued_messages, past which it would drop messages for a slow subscriber).
  void TopUp(Member* m) {
    std::int64_t complete = complete_[static_cast<std::size_t>(m->index)];
    while (m->sent < load_.messages && m->sent - complete - m->rejected < load_.window &&
           m->sent - m->acked < load_.window) {
      if (!Send(m)) return;
    }
  }

  // Publishes the sender's next message; false when the client refused it.
  bool Send(Member* m) {
    char text[kTextBytes + 1];
    int length = std::snprintf(text, sizeof(text), "%s%" PRId64 " s=%d n=%" PRId64 " ", kStampMarker, NowNs(),
                               m->index, m->sent);
    while (length < kTextBytes) text[length++] = 'x';
    text[length] = '\0';
    char payload[512];
    const char* body = text;
    const char* topic = kBareGroupTopic;
    if (chat_) {
      length = std::snprintf(payload, sizeof(payload), R"({"group":"%s","text":"%s","cmid":"%c%d-%)" PRId64 "\"}",
                             group_.c_str(), text, kCmidPrefix, m->index, m->sent);
      body = payload;
      topic = send_topic_.c_str();
    }
    int rc = mosquitto_publish_v5(m->client, nullptr, topic, length, body, 1, false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return false;  // a lost connection shows up in the read path
    ++m->sent;
    return true;
  }

  const GroupLoad& load_;
  bool chat_;
  const SuiteContext& context_;
  std::string label_;
  const std::string send_topic_ = core::RequestTopic(core::RequestOp::kSend);
  std::string group_;  // chat: the group's id
  std::vector<Member> members_;                     // sized once: callbacks hold pointers into it
  std::vector<std::vector<std::uint16_t>> copies_;  // [sender][n]: members that have it so far
  std::vector<std::int64_t> complete_;              // per sender: messages every member has
  std::vector<std::int64_t> latencies_ns_;
  std::int64_t delivered_ = 0;
  std::int64_t malformed_ = 0;
  std::int64_t last_delivery_ns_ = 0;
  ClientPool clients_;  // last: its clients go before the state their callbacks use
};

ServerSetup GroupSetup(const GroupLoad& load) {
  ServerSetup setup;
  for (int i = 0; i < load.members; ++i) {
    setup.users.push_back(MemberUser(i));
    // The owner's contacts join a group at once (anyone else would only be invited).
    if (i > 0) setup.contacts.emplace_back(MemberUser(0), MemberUser(i));
  }
  setup.chat_limits = "  max_group_members: " + std::to_string(load.members) + "\n";
  return setup;
}

Measurement RunGroupFanout(const GroupLoad& load, Server server, const SuiteContext& context,
                           const std::string& label) {
  return MeasureOnServer(server, GroupSetup(load), [&](const harness::BrokerProcess& broker) {
    return GroupFanoutRun(load, server, context, label).Run(broker);
  });
}

std::vector<FigureSpec> GroupFigures() {
  return {{"deliveries_per_s", "msg/s", true},
          {"broker_cpu_us_per_delivery", "us", false},
          {"loop_cpu_us_per_delivery", "us", false},
          {"generator_cpu_us_per_delivery", "us", false},
          {"latency_p50_ms", "ms", false},
          {"latency_p99_ms", "ms", false},
          {"latency_max_ms", "ms", false}};
}

// The group sizes the issue names.
constexpr int kGroupSizes[] = {100, 500};
// Messages per sender are given for 100 members; a bigger group sends proportionally fewer, so every size
// makes the same number of deliveries per round and a round stays short.
constexpr int kReferenceMembers = 100;

}  // namespace

// group-100 and group-500, their options and targets.
void AddGroupScenarios(Suite& suite, CLI::App& app) {
  static GroupLoad base;  // the options below write here; the scenarios read it when they run
  app.add_option("--group-senders", base.senders, "group: members that post")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--group-messages", base.messages,
                 "group: messages per sender with 100 members (bigger groups send proportionally fewer)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--group-window", base.window, "group: messages per sender not yet delivered to every member")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));

  for (int members : kGroupSizes) {
    std::string name = "group-" + std::to_string(members);
    Scenario scenario{name,
                      std::to_string(members) + " members online, every message to every member (bare: " +
                          std::to_string(members) + " subscribers of one topic)",
                      GroupFigures(), nullptr, nullptr};
    scenario.run = [members, name](Server server, SuiteContext& context) {
      GroupLoad load = base;
      load.members = context.quick ? members / 10 : members;
      load.senders = std::min(load.senders, load.members);
      load.messages = context.quick ? 20 : std::max(1, base.messages * kReferenceMembers / members);
      return RunGroupFanout(load, server, context, name + " " + ServerName(server));
    };
    suite.Add(scenario);
    suite.AddTarget({name, "deliveries_per_s", Target::Kind::kRatioAtLeast, 0.7,
                     "group " + std::to_string(members) + " members: >= 0.7x bare deliveries/s"});
  }
}

const ScenarioFile kGroupScenarios(20, AddGroupScenarios);

}  // namespace chat::bench
