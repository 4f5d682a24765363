// bench-group: a 100-member group's fan-out (deliveries/s, latency) and one device catching up on 10,000
// queued messages by sync, each beside bare Mosquitto's nearest equivalent measured in the same run.
//   bench-group --members 100 --senders 4 --messages 250 --queued 10000 --page 500 --out bench-group.json
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/report.h"
#include "core/topic_format.h"
#include "harness/broker_process.h"

// Phase A, fan-out. Plugin: `members` users in one group, each online with one device subscribed to its
// own topics; `senders` of them post `messages` each to the group. Bare: `members` clients subscribed to
// one topic; the same number of them publish the same number of messages there at QoS 1. Either way
// every message reaches every member (senders included), members x senders x messages deliveries.
//
// Phase B, catch-up. Plugin: `queued` 1:1 messages are stored for a user while its device is offline;
// the device then connects, subscribes and syncs in pages of `page`; timed from the first sync request
// to the last event applied (and from the connect). Bare: a persistent-session subscriber (clean session
// false) goes offline, `queued` QoS 1 messages are published to its topic, and it reconnects; timed from
// the reconnect to the last message received. Mosquitto's max_queued_messages (a global setting, 1000
// in the project's template) is raised for that broker only, or it would drop all but 1000; the plugin
// keeps its queue in RocksDB and needs no such setting.
//
// The load generator is libmosquitto in one poll() loop (load_client.h), as in bench-direct.

namespace chat::bench {
namespace {

using nlohmann::json;

constexpr char kPassword[] = "bench-password";
// The default per-user limit (20/s, burst 100) would make this a benchmark of the rate limiter.
constexpr char kFastSends[] =
    "limits:\n  send_rate_per_second: 100000\n  send_burst: 1000000\n  request_rate_per_second: 100000\n"
    "  request_burst: 1000000\n";
constexpr char kBareGroupTopic[] = "bench/group";
const std::string kSendTopic = chat::core::RequestTopic(chat::core::RequestOp::kSend);
const std::string kSyncTopic = chat::core::RequestTopic(chat::core::RequestOp::kSync);
constexpr char kBareQueueTopic[] = "bench/queue";

struct Settings {
  int members = 100;
  int senders = 4;
  int messages = 250;  // per sender, phase A
  int window = 8;      // phase A: a sender's messages not yet delivered to every member
  int queued = 10000;  // phase B
  int queue_senders = 4;
  int queue_window = 64;  // phase B: unacknowledged publishes per sender while queueing
  int page = 500;
  int text_bytes = 100;
  int timeout_seconds = 180;
  std::string out = "bench-group.json";
};

std::string UserName(const char* prefix, int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%03d", prefix, i);
  return name;
}

// "bench-t=<ns> s=<sender> n=<n> xxx…", padded to `bytes`.
std::string StampedText(int sender, std::int64_t n, int bytes) {
  char text[512];
  int length = std::snprintf(text, sizeof(text), "%s%" PRId64 " s=%d n=%" PRId64 " ", kStampMarker, NowNs(), sender, n);
  int target = std::min<int>(bytes, static_cast<int>(sizeof(text)) - 1);
  while (length < target) text[length++] = 'x';
  return std::string(text, static_cast<std::size_t>(length));
}

struct Stamp {
  std::int64_t ns = 0;
  int sender = -1;
  std::int64_t n = -1;
};

// Reads a stamp from a raw payload or a JSON event; false when there is none or it is malformed.
bool ReadStamp(const void* payload, int length, Stamp* out) {
  const char* at = chat::bench::FindStamp(payload, length);
  if (at == nullptr) return false;
  char* end = nullptr;
  out->ns = std::strtoll(at + sizeof(kStampMarker) - 1, &end, 10);
  if (std::strncmp(end, " s=", 3) != 0) return false;
  out->sender = static_cast<int>(std::strtol(end + 3, &end, 10));
  if (std::strncmp(end, " n=", 3) != 0) return false;
  out->n = std::strtoll(end + 3, &end, 10);
  return true;
}

mosquitto* NewClient(chat::bench::ClientPool& pool, const std::string& client_id, bool clean_session, void* data,
                     std::string* error) {
  mosquitto* client = pool.New(client_id, clean_session, data);
  if (client == nullptr) *error = "mosquitto_new failed for " + client_id;
  return client;
}

// A persistent session (clean start false) lasts this long after the connection ends (MQTT 5).
int ConnectPersistent(mosquitto* client, int port) {
  mosquitto_property* properties = nullptr;
  mosquitto_property_add_int32(&properties, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
  int rc = mosquitto_connect_bind_v5(client, "127.0.0.1", port, 60, nullptr, properties);
  mosquitto_property_free_all(&properties);
  return rc;
}

// ---------------------------------------------------------------------------------------------------
// Phase A: fan-out.

struct FanoutResult : chat::bench::PhaseOutcome {
  std::int64_t expected = 0;  // deliveries
  std::int64_t delivered = 0;
  std::int64_t rejected = 0;   // sends refused (PUBACK >= 0x80)
  std::int64_t malformed = 0;  // deliveries whose stamp could not be read
  double elapsed_s = 0;
  double deliveries_per_s = 0;
  double messages_per_s = 0;  // group messages fanned out completely per second
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

class FanoutPhase;

struct Member {
  FanoutPhase* phase = nullptr;
  int index = 0;
  mosquitto* client = nullptr;
  int connack = -1;
  bool subscribed = false;
  bool subscription_refused = false;
  // As a sender (index < senders).
  std::int64_t sent = 0;
  std::int64_t acked = 0;
  std::int64_t rejected = 0;
};

class FanoutPhase {
 public:
  FanoutPhase(std::string name, const Settings& settings, bool with_plugin)
      : name_(std::move(name)), settings_(settings), with_plugin_(with_plugin) {}

  FanoutResult Run() {
    FanoutResult result;
    result.name = name_;
    result.expected = static_cast<std::int64_t>(settings_.members) * settings_.senders * settings_.messages;
    chat::harness::BrokerOptions options;
    options.with_plugin = with_plugin_;
    if (with_plugin_) options.extra_yaml = kFastSends;
    chat::harness::BrokerProcess broker(options);
    if (with_plugin_) {
      std::vector<std::pair<std::string, std::string>> contacts;
      for (int i = 0; i < settings_.members; ++i) {
        if (std::string error = broker.AddUserOffline(UserName("g", i), kPassword); !error.empty()) {
          result.error = "creating users: " + error;
          return result;
        }
        if (i > 0) contacts.emplace_back(UserName("g", 0), UserName("g", i));
      }
      // The owner's contacts join the group at once (anyone else would be invited).
      if (std::string error = broker.AddContactsOffline(contacts); !error.empty()) {
        result.error = "creating contacts: " + error;
        return result;
      }
    }
    if (std::string error = broker.Start(); !error.empty()) {
      result.error = "starting the broker: " + error;
      return result;
    }
    std::cout << name_ << ": " << settings_.members << " members, " << settings_.senders << " senders x "
              << settings_.messages << " messages on port " << broker.mqtt_port() << "..." << std::endl;
    auto deadline = Clock::now() + std::chrono::seconds(settings_.timeout_seconds);
    if (with_plugin_) result.error = CreateGroup(broker);
    if (result.error.empty()) result.error = Connect(broker.mqtt_port(), deadline);

    std::int64_t start_ns = NowNs();
    double cpu_before = CpuSeconds(RUSAGE_SELF);
    if (result.error.empty()) result.error = Measure(deadline);
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - cpu_before;
    std::vector<mosquitto*> clients;
    for (Member& m : members_) clients.push_back(m.client);
    chat::bench::DisconnectAll(clients);

    result.delivered = delivered_;
    result.malformed = malformed_;
    for (const Member& m : members_) result.rejected += m.rejected;
    result.completed = result.error.empty() && result.delivered == result.expected && result.malformed == 0;
    if (result.error.empty() && !result.completed) {
      result.error = std::to_string(result.rejected) + " sends rejected, " + std::to_string(result.malformed) +
                     " malformed deliveries";
    }
    std::int64_t end_ns = std::max(start_ns, last_delivery_ns_);
    result.elapsed_s = static_cast<double>(end_ns - start_ns) / 1e9;
    if (result.elapsed_s > 0) {
      result.deliveries_per_s = static_cast<double>(result.delivered) / result.elapsed_s;
      std::int64_t complete = 0;
      for (std::int64_t c : complete_) complete += c;
      result.messages_per_s = static_cast<double>(complete) / result.elapsed_s;
    }
    chat::bench::LatencySummary summary = chat::bench::Summarize(latencies_ns_);
    result.p50_ms = summary.p50_ms;
    result.p99_ms = summary.p99_ms;
    result.max_ms = summary.max_ms;
    if (!result.completed) result.error += BrokerLogTail(broker.log());
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
  // Bare: the PUBACK is the acknowledgement. The plugin's only says the broker has the send; its chat
  // ack (OnMessage) says stored, and a refusal comes as an error reply.
  static void OnPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
    Member* m = static_cast<Member*>(data);
    if (m->phase->with_plugin_) return;
    ++m->acked;
    if (reason >= 0x80) ++m->rejected;
  }
  static void OnMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
    Member* m = static_cast<Member*>(data);
    if (m->phase->with_plugin_ && m->phase->TakeReply(m, message)) return;
    m->phase->Deliver(message);
  }

  // Plugin: a reply to one of `m`'s sends. The chat ack is also the sending device's copy of its
  // message (it carries the device's seq, and the device gets no event of its own send), so it counts
  // toward the message reaching every member, as the sender's own copy does on bare Mosquitto.
  bool TakeReply(Member* m, const mosquitto_message* message) {
    chat::bench::SendReply reply = chat::bench::ReadSendReply(message->payload, message->payloadlen, 'g');
    if (reply.kind == chat::bench::SendReply::Kind::kError) {
      ++m->rejected;
      return true;
    }
    if (reply.kind != chat::bench::SendReply::Kind::kAck) return false;
    ++m->acked;
    if (reply.sender != m->index || reply.n < 0 || reply.n >= settings_.messages) {
      ++malformed_;
      return true;
    }
    ++delivered_;
    Count(m->index, reply.n);
    return true;
  }

  // One more member has sender's message n.
  void Count(std::int64_t sender, std::int64_t n) {
    std::uint16_t& copies = copies_[static_cast<std::size_t>(sender)][static_cast<std::size_t>(n)];
    if (++copies == settings_.members) ++complete_[static_cast<std::size_t>(sender)];
  }

  void Deliver(const mosquitto_message* message) {
    Stamp stamp;
    if (chat::bench::FindStamp(message->payload, message->payloadlen) == nullptr) return;  // other events
    if (!ReadStamp(message->payload, message->payloadlen, &stamp) || stamp.sender < 0 ||
        stamp.sender >= settings_.senders || stamp.n < 0 || stamp.n >= settings_.messages) {
      ++malformed_;
      return;
    }
    std::int64_t now = NowNs();
    latencies_ns_.push_back(now - stamp.ns);
    ++delivered_;
    last_delivery_ns_ = now;
    Count(stamp.sender, stamp.n);
  }

  // Plugin: the group, created by member 0 with everyone before the load clients connect (so its
  // "created" events are in the sync queues, not in the measurement).
  std::string CreateGroup(const chat::harness::BrokerProcess& broker) {
    json members = json::array();
    for (int i = 1; i < settings_.members; ++i) members.push_back(UserName("g", i));
    std::string payload;
    std::string error = chat::bench::RequestOnce(
        broker.mqtt_port(), UserName("g", 0), kPassword, "setup",
        chat::core::RequestTopic(chat::core::RequestOp::kGroupCreate),
        json{{"rid", "create"}, {"name", "bench"}, {"members", members}}.dump(), "create", std::chrono::seconds(30),
        &payload);
    if (!error.empty()) return "group_create by the owner: " + error;
    json reply = json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object() || reply.value("type", "") != "group") return "group_create failed: " + payload;
    group_ = reply.value("group", "");
    return "";
  }

  std::string Connect(int port, Clock::time_point deadline) {
    members_.resize(static_cast<std::size_t>(settings_.members));
    copies_.assign(static_cast<std::size_t>(settings_.senders),
                   std::vector<std::uint16_t>(static_cast<std::size_t>(settings_.messages), 0));
    complete_.assign(static_cast<std::size_t>(settings_.senders), 0);
    latencies_ns_.reserve(static_cast<std::size_t>(settings_.members) * settings_.senders * settings_.messages);
    std::vector<mosquitto*> clients;
    for (int i = 0; i < settings_.members; ++i) {
      Member& m = members_[static_cast<std::size_t>(i)];
      m.phase = this;
      m.index = i;
      std::string user = UserName("g", i);
      std::string error;
      m.client = NewClient(clients_, chat::bench::LoadClientId(user, with_plugin_), true, &m, &error);
      if (m.client == nullptr) return error;
      mosquitto_connect_v5_callback_set(m.client, OnConnect);
      mosquitto_subscribe_v5_callback_set(m.client, OnSubscribe);
      mosquitto_publish_v5_callback_set(m.client, OnPublish);
      mosquitto_message_v5_callback_set(m.client, OnMessage);
      if (with_plugin_) mosquitto_username_pw_set(m.client, user.c_str(), kPassword);
      if (int rc = mosquitto_connect(m.client, "127.0.0.1", port, 60); rc != MOSQ_ERR_SUCCESS) {
        return "connect " + user + ": " + mosquitto_strerror(rc);
      }
      clients.push_back(m.client);
    }
    std::string error = chat::bench::AwaitConnacks(
        clients, deadline, settings_.timeout_seconds, [&](std::size_t i) { return members_[i].connack; },
        [&](std::size_t i) { return "login refused for member " + std::to_string(members_[i].index); }, "connecting");
    if (!error.empty()) return error;
    for (Member& m : members_) {
      std::string filter = with_plugin_ ? chat::core::UserTopic(UserName("g", m.index), "#") : kBareGroupTopic;
      if (int rc = mosquitto_subscribe_v5(m.client, nullptr, filter.c_str(), 1, 0, nullptr); rc != MOSQ_ERR_SUCCESS) {
        return std::string("subscribe: ") + mosquitto_strerror(rc);
      }
    }
    error = DriveClients(clients, deadline, settings_.timeout_seconds, [&] {
      return std::all_of(members_.begin(), members_.end(), [](const Member& m) { return m.subscribed; });
    });
    if (!error.empty()) return "subscribing: " + error;
    for (const Member& m : members_) {
      if (m.subscription_refused) return "subscription refused for member " + std::to_string(m.index);
    }
    return "";
  }

  std::string Measure(Clock::time_point deadline) {
    std::vector<mosquitto*> clients;
    for (Member& m : members_) clients.push_back(m.client);
    int senders = std::min(settings_.senders, settings_.members);
    return DriveClients(
        clients, deadline, settings_.timeout_seconds,
        [&] {
          for (int s = 0; s < senders; ++s) {
            const Member& m = members_[static_cast<std::size_t>(s)];
            if (complete_[static_cast<std::size_t>(s)] + m.rejected < settings_.messages) return false;
            if (m.acked < settings_.messages) return false;
          }
          return true;
        },
        [&] {
          for (int s = 0; s < senders; ++s) TopUp(&members_[static_cast<std::size_t>(s)]);
        });
  }

  // The window counts messages not yet delivered to every member, so no member's queue in the broker
  // grows past senders x window (far below max_queued_messages) and nothing is dropped.
  void TopUp(Member* m) {
    std::int64_t& complete = complete_[static_cast<std::size_t>(m->index)];
    while (m->sent < settings_.messages && m->sent - complete - m->rejected < settings_.window &&
           m->sent - m->acked < settings_.window) {
      std::string text = StampedText(m->index, m->sent, settings_.text_bytes);
      std::string payload = text;
      const char* topic = kBareGroupTopic;
      if (with_plugin_) {
        payload = json{{"group", group_},
                       {"text", text},
                       {"cmid", "g" + std::to_string(m->index) + "-" + std::to_string(m->sent)}}
                      .dump();
        topic = kSendTopic.c_str();
      }
      int rc = mosquitto_publish_v5(m->client, nullptr, topic, static_cast<int>(payload.size()), payload.data(), 1,
                                    false, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) return;  // a lost connection shows up in the read path
      ++m->sent;
    }
  }

  std::string name_;
  const Settings& settings_;
  bool with_plugin_;
  std::string group_;
  std::vector<Member> members_;
  std::vector<std::vector<std::uint16_t>> copies_;  // [sender][n]: members that got it so far
  std::vector<std::int64_t> complete_;              // per sender: messages every member got
  std::vector<std::int64_t> latencies_ns_;
  std::int64_t delivered_ = 0;
  std::int64_t malformed_ = 0;
  std::int64_t last_delivery_ns_ = 0;
  chat::bench::ClientPool clients_;  // last: its clients go before the state their callbacks use
};

// ---------------------------------------------------------------------------------------------------
// Phase B: catch-up of queued messages.

// The generator's CPU seconds are those of the catch-up.
struct CatchUpResult : chat::bench::PhaseOutcome {
  std::int64_t expected = 0;
  std::int64_t received = 0;  // messages applied (plugin) or received (bare)
  std::int64_t duplicates = 0;
  std::int64_t out_of_order = 0;  // gaps or reordering
  int pages = 0;                  // plugin: sync pages
  double queue_s = 0;             // time to get the messages queued (all publishes acknowledged)
  double catch_up_s = 0;          // plugin: first sync request -> last event applied; bare: reconnect -> last
  double connect_to_done_s = 0;   // from the (re)connect to the last message, both
  double messages_per_s = 0;      // expected / catch_up_s
};

// A client that publishes `count` messages with at most `window` unacknowledged.
struct Publisher {
  mosquitto* client = nullptr;
  int index = 0;
  int connack = -1;
  std::int64_t count = 0;
  std::int64_t sent = 0;
  std::int64_t acked = 0;
  std::int64_t rejected = 0;
  int first_refusal = 0;  // the PUBACK reason code of the first refused publish

  static void OnConnect(mosquitto*, void* data, int reason, int, const mosquitto_property*) {
    static_cast<Publisher*>(data)->connack = reason;
  }
  static void OnPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
    Publisher* p = static_cast<Publisher*>(data);
    ++p->acked;
    if (reason >= 0x80 && p->rejected++ == 0) p->first_refusal = reason;
  }
};

// The device (plugin) or the persistent subscriber (bare) that catches up.
struct Catcher {
  mosquitto* client = nullptr;
  int connack = -1;
  bool session_present = false;
  bool subscribed = false;
  bool subscription_refused = false;
  bool done = false;
  std::string error;
  std::int64_t received = 0;
  std::int64_t duplicates = 0;
  std::int64_t out_of_order = 0;
  std::int64_t expected = 0;
  std::int64_t connack_ns = 0;
  std::int64_t last_ns = 0;
  // Plugin: the sync rules' state.
  std::string user;
  int page = 0;
  int pages = 0;
  std::int64_t cur_max_seq = 0;
  std::string rid;
  std::int64_t first_request_ns = 0;
  // Bare: the last n seen per publisher, to see order and repeats.
  std::vector<std::int64_t> last_n;

  static void OnConnect(mosquitto*, void* data, int reason, int flags, const mosquitto_property*) {
    Catcher* c = static_cast<Catcher*>(data);
    c->connack = reason;
    c->session_present = (flags & 1) != 0;
    c->connack_ns = NowNs();
  }
  static void OnSubscribe(mosquitto*, void* data, int, int count, const int* granted, const mosquitto_property*) {
    Catcher* c = static_cast<Catcher*>(data);
    c->subscribed = true;
    c->subscription_refused = count < 1 || granted[0] >= 0x80;
  }

  // Plugin: asks for the page after cur_max_seq.
  void RequestPage() {
    rid = "s" + std::to_string(pages + 1);
    std::string payload = json{{"rid", rid}, {"after", cur_max_seq}, {"limit", page}}.dump();
    if (first_request_ns == 0) first_request_ns = NowNs();
    int rc = mosquitto_publish_v5(client, nullptr, kSyncTopic.c_str(), static_cast<int>(payload.size()), payload.data(),
                                  1, false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      error = std::string("sync request: ") + mosquitto_strerror(rc);
      done = true;
    }
  }

  // Plugin: applies a sync page by the protocol's rules and asks for the next while "more".
  static void OnDeviceMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
    Catcher* c = static_cast<Catcher*>(data);
    std::string_view topic(message->topic);
    if (topic.size() < 6 || topic.substr(topic.size() - 6) != "/reply") return;  // no live events expected
    const char* begin = static_cast<const char*>(message->payload);
    json reply = json::parse(begin, begin + message->payloadlen, nullptr, false);
    if (!reply.is_object() || reply.value("rid", "") != c->rid) return;
    if (reply.value("type", "") != "sync" || !reply["events"].is_array()) {
      c->error = "sync failed: " + reply.dump();
      c->done = true;
      return;
    }
    ++c->pages;
    for (const json& event : reply["events"]) {
      std::int64_t seq = event.value("seq", static_cast<std::int64_t>(-1));
      if (seq <= c->cur_max_seq) {
        ++c->duplicates;
        continue;
      }
      if (seq != c->cur_max_seq + 1) ++c->out_of_order;
      c->cur_max_seq = seq;
      if (event.value("type", "") == "message") ++c->received;
    }
    if (reply.value("more", false)) {
      c->RequestPage();
    } else {
      c->last_ns = NowNs();
      c->done = true;
    }
  }

  // Bare: counts each message, checking every publisher's messages come in order, once.
  static void OnBareMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
    Catcher* c = static_cast<Catcher*>(data);
    Stamp stamp;
    if (!ReadStamp(message->payload, message->payloadlen, &stamp) || stamp.sender < 0 ||
        stamp.sender >= static_cast<int>(c->last_n.size())) {
      return;
    }
    std::int64_t& last = c->last_n[static_cast<std::size_t>(stamp.sender)];
    if (stamp.n <= last) {
      ++c->duplicates;
      return;
    }
    if (stamp.n != last + 1) ++c->out_of_order;
    last = stamp.n;
    ++c->received;
    c->last_ns = NowNs();
    if (c->received >= c->expected) c->done = true;
  }
};

class CatchUpPhase {
 public:
  CatchUpPhase(std::string name, const Settings& settings, bool with_plugin)
      : name_(std::move(name)), settings_(settings), with_plugin_(with_plugin) {}

  CatchUpResult Run() {
    CatchUpResult result;
    result.name = name_;
    result.expected = settings_.queued;
    chat::harness::BrokerOptions options;
    options.with_plugin = with_plugin_;
    if (with_plugin_) {
      options.extra_yaml = kFastSends;
    } else {
      options.extra_mosquitto_conf = "max_queued_messages " + std::to_string(settings_.queued * 2) + "\n";
    }
    chat::harness::BrokerProcess broker(options);
    if (with_plugin_) {
      for (const std::string& user : PublisherUsers()) {
        if (std::string error = broker.AddUserOffline(user, kPassword); !error.empty()) {
          result.error = "creating users: " + error;
          return result;
        }
      }
      if (std::string error = broker.AddUserOffline("dev", kPassword); !error.empty()) {
        result.error = "creating users: " + error;
        return result;
      }
    }
    if (std::string error = broker.Start(); !error.empty()) {
      result.error = "starting the broker: " + error;
      return result;
    }
    std::cout << name_ << ": " << settings_.queued << " messages queued for one offline "
              << (with_plugin_ ? "device, then sync in pages of " + std::to_string(settings_.page)
                               : std::string("persistent session, then reconnect"))
              << " on port " << broker.mqtt_port() << "..." << std::endl;
    int port = broker.mqtt_port();
    auto deadline = Clock::now() + std::chrono::seconds(settings_.timeout_seconds);

    catcher_.expected = settings_.queued;
    catcher_.page = settings_.page;
    catcher_.last_n.assign(static_cast<std::size_t>(settings_.queue_senders), -1);
    // Bare: the subscriber's session must exist (with its subscription) before it goes offline.
    if (!with_plugin_) result.error = PrepareBareSubscriber(port, deadline);
    std::int64_t queue_start_ns = NowNs();
    if (result.error.empty()) result.error = Queue(port, deadline);
    result.queue_s = static_cast<double>(NowNs() - queue_start_ns) / 1e9;

    double cpu_before = CpuSeconds(RUSAGE_SELF);
    std::int64_t connect_ns = NowNs();
    if (result.error.empty()) result.error = CatchUp(port, deadline);
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - cpu_before;
    if (catcher_.client != nullptr) chat::bench::DisconnectAll({catcher_.client});

    result.received = catcher_.received;
    result.duplicates = catcher_.duplicates;
    result.out_of_order = catcher_.out_of_order;
    result.pages = catcher_.pages;
    if (result.error.empty()) result.error = catcher_.error;
    result.completed = result.error.empty() && result.received == result.expected && result.duplicates == 0 &&
                       result.out_of_order == 0;
    if (result.error.empty() && !result.completed) {
      result.error = "received " + std::to_string(result.received) + ", duplicates " +
                     std::to_string(result.duplicates) + ", out of order " + std::to_string(result.out_of_order);
    }
    if (catcher_.last_ns > 0) {
      std::int64_t from = with_plugin_ ? catcher_.first_request_ns : connect_ns;
      result.catch_up_s = static_cast<double>(catcher_.last_ns - from) / 1e9;
      result.connect_to_done_s = static_cast<double>(catcher_.last_ns - connect_ns) / 1e9;
      if (result.catch_up_s > 0) result.messages_per_s = static_cast<double>(result.received) / result.catch_up_s;
    }
    if (!result.completed) result.error += BrokerLogTail(broker.log());
    return result;
  }

 private:
  std::vector<std::string> PublisherUsers() const {
    std::vector<std::string> users;
    for (int i = 0; i < settings_.queue_senders; ++i) users.push_back(UserName("q", i));
    return users;
  }

  std::string PrepareBareSubscriber(int port, Clock::time_point deadline) {
    std::string error;
    catcher_.client = NewClient(clients_, "bench-catch-up", /*clean_session=*/false, &catcher_, &error);
    if (catcher_.client == nullptr) return error;
    mosquitto_connect_v5_callback_set(catcher_.client, Catcher::OnConnect);
    mosquitto_subscribe_v5_callback_set(catcher_.client, Catcher::OnSubscribe);
    mosquitto_message_v5_callback_set(catcher_.client, Catcher::OnBareMessage);
    if (int rc = ConnectPersistent(catcher_.client, port); rc != MOSQ_ERR_SUCCESS) {
      return std::string("subscriber connect: ") + mosquitto_strerror(rc);
    }
    std::vector<mosquitto*> one = {catcher_.client};
    error = DriveClients(one, deadline, settings_.timeout_seconds, [&] { return catcher_.connack >= 0; });
    if (!error.empty() || catcher_.connack != 0) return "subscriber connect: " + error;
    mosquitto_subscribe_v5(catcher_.client, nullptr, kBareQueueTopic, 1, 0, nullptr);
    error = DriveClients(one, deadline, settings_.timeout_seconds, [&] { return catcher_.subscribed; });
    if (!error.empty() || catcher_.subscription_refused) return "subscriber subscribe: " + error;
    mosquitto_disconnect(catcher_.client);
    // libmosquitto closes the socket once DISCONNECT is written.
    error =
        DriveClients(one, deadline, settings_.timeout_seconds, [&] { return mosquitto_socket(catcher_.client) < 0; });
    if (!error.empty()) return "subscriber disconnect: " + error;
    // Let the broker take the session offline before anything is published to it.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    catcher_.connack = -1;
    return "";
  }

  // Publishes the messages for the offline catcher and waits until every one is acknowledged (stored by
  // the plugin; queued for the session by bare Mosquitto).
  std::string Queue(int port, Clock::time_point deadline) {
    int senders = settings_.queue_senders;
    publishers_.resize(static_cast<std::size_t>(senders));
    std::vector<mosquitto*> clients;
    for (int i = 0; i < senders; ++i) {
      Publisher& p = publishers_[static_cast<std::size_t>(i)];
      p.index = i;
      p.count = settings_.queued / senders + (i < settings_.queued % senders ? 1 : 0);
      std::string user = UserName("q", i);
      std::string error;
      p.client = NewClient(clients_, chat::bench::LoadClientId(user, with_plugin_), true, &p, &error);
      if (p.client == nullptr) return error;
      mosquitto_connect_v5_callback_set(p.client, Publisher::OnConnect);
      mosquitto_publish_v5_callback_set(p.client, Publisher::OnPublish);
      if (with_plugin_) mosquitto_username_pw_set(p.client, user.c_str(), kPassword);
      if (int rc = mosquitto_connect(p.client, "127.0.0.1", port, 60); rc != MOSQ_ERR_SUCCESS) {
        return "connect " + user + ": " + mosquitto_strerror(rc);
      }
      clients.push_back(p.client);
    }
    std::string error = chat::bench::AwaitConnacks(
        clients, deadline, settings_.timeout_seconds, [&](std::size_t i) { return publishers_[i].connack; },
        [&](std::size_t i) { return "login refused for publisher " + std::to_string(publishers_[i].index); },
        "connecting publishers");
    if (!error.empty()) return error;
    error = DriveClients(
        clients, deadline, settings_.timeout_seconds,
        [&] {
          return std::all_of(publishers_.begin(), publishers_.end(),
                             [](const Publisher& p) { return p.acked >= p.count; });
        },
        [&] {
          for (Publisher& p : publishers_) TopUp(&p);
        });
    chat::bench::DisconnectAll(clients);
    if (!error.empty()) return "queueing: " + error;
    std::int64_t rejected = 0;
    int reason = 0;
    for (const Publisher& p : publishers_) {
      rejected += p.rejected;
      if (p.rejected > 0) reason = p.first_refusal;
    }
    if (rejected > 0) {
      return std::to_string(rejected) + " publishes rejected while queueing (PUBACK " + std::to_string(reason) + ")";
    }
    return "";
  }

  void TopUp(Publisher* p) {
    while (p->sent < p->count && p->sent - p->acked < settings_.queue_window) {
      std::string text = StampedText(p->index, p->sent, settings_.text_bytes);
      std::string payload = text;
      const char* topic = kBareQueueTopic;
      if (with_plugin_) {
        payload =
            json{
                {"to", "dev"}, {"text", text}, {"cmid", "q" + std::to_string(p->index) + "-" + std::to_string(p->sent)}}
                .dump();
        topic = kSendTopic.c_str();
      }
      int rc = mosquitto_publish_v5(p->client, nullptr, topic, static_cast<int>(payload.size()), payload.data(), 1,
                                    false, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) return;
      ++p->sent;
    }
  }

  std::string CatchUp(int port, Clock::time_point deadline) {
    if (with_plugin_) {
      std::string error;
      catcher_.client = NewClient(clients_, "dev:phone", /*clean_session=*/true, &catcher_, &error);
      if (catcher_.client == nullptr) return error;
      catcher_.user = "dev";
      mosquitto_connect_v5_callback_set(catcher_.client, Catcher::OnConnect);
      mosquitto_subscribe_v5_callback_set(catcher_.client, Catcher::OnSubscribe);
      mosquitto_message_v5_callback_set(catcher_.client, Catcher::OnDeviceMessage);
      mosquitto_username_pw_set(catcher_.client, "dev", kPassword);
      if (int rc = mosquitto_connect(catcher_.client, "127.0.0.1", port, 60); rc != MOSQ_ERR_SUCCESS) {
        return std::string("device connect: ") + mosquitto_strerror(rc);
      }
    } else if (int rc = ConnectPersistent(catcher_.client, port); rc != MOSQ_ERR_SUCCESS) {
      return std::string("subscriber reconnect: ") + mosquitto_strerror(rc);
    }
    std::vector<mosquitto*> one = {catcher_.client};
    std::string error = DriveClients(one, deadline, settings_.timeout_seconds, [&] { return catcher_.connack >= 0; });
    if (catcher_.connack > 0) return "login refused (CONNACK " + std::to_string(catcher_.connack) + ")";
    if (!error.empty()) return "connecting: " + error;
    if (with_plugin_) {
      // The protocol's rule 1: subscribe, then sync from cur_max_seq (0: a new device).
      mosquitto_subscribe_v5(catcher_.client, nullptr, chat::core::UserTopic("dev", "#").c_str(), 1, 0, nullptr);
      error = DriveClients(one, deadline, settings_.timeout_seconds, [&] { return catcher_.subscribed; });
      if (!error.empty() || catcher_.subscription_refused) return "subscribing: " + error;
      catcher_.RequestPage();
    } else if (!catcher_.session_present) {
      return "the broker did not keep the subscriber's session";
    }
    error = DriveClients(one, deadline, settings_.timeout_seconds, [&] { return catcher_.done; });
    if (!error.empty()) return "catching up: " + error;
    return "";
  }

  std::string name_;
  const Settings& settings_;
  bool with_plugin_;
  std::vector<Publisher> publishers_;
  Catcher catcher_;
  chat::bench::ClientPool clients_;  // last: its clients go before the state their callbacks use
};

// The broker's CPU time shows up in RUSAGE_CHILDREN once the harness has reaped it (on destruction).
template <typename Phase, typename Result = decltype(std::declval<Phase&>().Run())>
Result RunPhase(const std::string& name, const Settings& settings, bool with_plugin) {
  double before = CpuSeconds(RUSAGE_CHILDREN);
  Result result;
  {
    Phase phase(name, settings, with_plugin);
    result = phase.Run();
  }
  result.broker_cpu_s = CpuSeconds(RUSAGE_CHILDREN) - before;
  return result;
}

json ToJson(const FanoutResult& r) {
  return r.PhaseOutcome::ToJson({{"expected_deliveries", r.expected},
                                 {"delivered", r.delivered},
                                 {"rejected", r.rejected},
                                 {"malformed", r.malformed},
                                 {"elapsed_s", r.elapsed_s},
                                 {"deliveries_per_s", r.deliveries_per_s},
                                 {"messages_per_s", r.messages_per_s},
                                 {"latency_p50_ms", r.p50_ms},
                                 {"latency_p99_ms", r.p99_ms},
                                 {"latency_max_ms", r.max_ms}});
}

json ToJson(const CatchUpResult& r) {
  return r.PhaseOutcome::ToJson({{"expected", r.expected},
                                 {"received", r.received},
                                 {"duplicates", r.duplicates},
                                 {"out_of_order", r.out_of_order},
                                 {"pages", r.pages},
                                 {"queue_s", r.queue_s},
                                 {"catch_up_s", r.catch_up_s},
                                 {"connect_to_done_s", r.connect_to_done_s},
                                 {"messages_per_s", r.messages_per_s}});
}

int Main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"bench-group: group fan-out and sync catch-up, bare Mosquitto vs. the chat plugin"};
  chat::bench::AddBoundedOption(app, "--members", &settings.members, "group members, all online (phase A)", 2, 1000);
  chat::bench::AddBoundedOption(app, "--senders", &settings.senders, "members that post (phase A)", 1, 100);
  chat::bench::AddBoundedOption(app, "--messages", &settings.messages, "messages per sender (phase A)", 1, 60000);
  chat::bench::AddBoundedOption(app, "--window", &settings.window,
                                "messages per sender not yet delivered to all (phase A)", 1, 1000);
  chat::bench::AddBoundedOption(app, "--queued", &settings.queued,
                                "messages queued for the offline device (phase B)", 1, 1000000);
  chat::bench::AddBoundedOption(app, "--queue-senders", &settings.queue_senders,
                                "publishers that queue them (phase B)", 1, 100);
  chat::bench::AddBoundedOption(app, "--page", &settings.page, "sync page limit (phase B)", 1, 10000);
  chat::bench::AddBoundedOption(app, "--text-bytes", &settings.text_bytes, "message text size", 60, 500);
  chat::bench::AddCommonOptions(app, &settings.timeout_seconds, &settings.out);
  CLI11_PARSE(app, argc, argv);
  settings.senders = std::min(settings.senders, settings.members);

  return chat::bench::RunBenchmark("bench-group", [&] {
    std::vector<FanoutResult> fanout;
    std::vector<CatchUpResult> catch_up;
    fanout.push_back(RunPhase<FanoutPhase>("bare", settings, false));
    if (!chat::bench::Interrupted()) fanout.push_back(RunPhase<FanoutPhase>("plugin", settings, true));
    if (!chat::bench::Interrupted()) catch_up.push_back(RunPhase<CatchUpPhase>("bare", settings, false));
    if (!chat::bench::Interrupted()) catch_up.push_back(RunPhase<CatchUpPhase>("plugin", settings, true));

    bool all_completed = true;
    std::printf(
        "\nA. group fan-out: %d members online, %d senders x %d messages, QoS 1 (bare: %d subscribers on one topic)\n",
        settings.members, settings.senders, settings.messages, settings.members);
    const chat::bench::Table fanout_table(
        "phase:-7 delivered:11 expected:11 elapsed_s:10.3 deliveries/s:13 messages/s:10.1 "
        "p50_ms:9.3 p99_ms:9.3 max_ms:9.3 gen_cpu_s:9.3 brk_cpu_s:9.3");
    fanout_table.PrintHeader();
    for (const FanoutResult& r : fanout) {
      fanout_table.PrintRow({r.name, r.delivered, r.expected, r.elapsed_s, r.deliveries_per_s, r.messages_per_s,
                             r.p50_ms, r.p99_ms, r.max_ms, r.generator_cpu_s, r.broker_cpu_s});
      all_completed &= chat::bench::NoteIncomplete("fan-out " + r.name, r.completed, r.error);
    }
    std::printf(
        "\nB. catch-up: %d messages queued for one offline device (plugin: sync pages of %d from the first "
        "request;\n   bare: QoS 1, persistent session, from the reconnect)\n",
        settings.queued, settings.page);
    const chat::bench::Table catch_up_table(
        "phase:-7 received:9 expected:9 pages:7 catch_up_s:11.3 messages/s:12 "
        "connect_to_done_s:18.3 queue_s:9.3 gen_cpu_s:9.3 brk_cpu_s:9.3");
    catch_up_table.PrintHeader();
    for (const CatchUpResult& r : catch_up) {
      std::string pages = r.name == "bare" ? "-" : std::to_string(r.pages);  // bare Mosquitto has no pages
      catch_up_table.PrintRow({r.name, r.received, r.expected, pages, r.catch_up_s, r.messages_per_s,
                               r.connect_to_done_s, r.queue_s, r.generator_cpu_s, r.broker_cpu_s});
      all_completed &= chat::bench::NoteIncomplete("catch-up " + r.name, r.completed, r.error);
    }

    json out = {{"settings",
                 RunSettings({{"members", settings.members},
                              {"senders", settings.senders},
                              {"messages_per_sender", settings.messages},
                              {"window", settings.window},
                              {"queued", settings.queued},
                              {"queue_senders", settings.queue_senders},
                              {"queue_window", settings.queue_window},
                              {"sync_page", settings.page},
                              {"text_bytes", settings.text_bytes}})},
                {"fanout", json::object()},
                {"catch_up", json::object()}};
    for (const FanoutResult& r : fanout) out["fanout"][r.name] = ToJson(r);
    for (const CatchUpResult& r : catch_up) out["catch_up"][r.name] = ToJson(r);
    json ratio = json::object();
    std::printf("\nratio plugin/bare:");
    if (fanout.size() == 2) {
      ratio["fanout_deliveries_per_s"] = Ratio(fanout[1].deliveries_per_s, fanout[0].deliveries_per_s);
      ratio["fanout_latency_p50"] = Ratio(fanout[1].p50_ms, fanout[0].p50_ms);
      ratio["fanout_latency_p99"] = Ratio(fanout[1].p99_ms, fanout[0].p99_ms);
      std::printf(" fan-out deliveries/s %.3f (p50 latency %.2f, p99 %.2f);",
                  ratio["fanout_deliveries_per_s"].get<double>(), ratio["fanout_latency_p50"].get<double>(),
                  ratio["fanout_latency_p99"].get<double>());
    }
    if (catch_up.size() == 2) {
      ratio["catch_up_time"] = Ratio(catch_up[1].catch_up_s, catch_up[0].catch_up_s);
      ratio["catch_up_connect_to_done_time"] = Ratio(catch_up[1].connect_to_done_s, catch_up[0].connect_to_done_s);
      std::printf(" catch-up time %.3f (both from the connect: %.3f)", ratio["catch_up_time"].get<double>(),
                  ratio["catch_up_connect_to_done_time"].get<double>());
    }
    std::printf("\n");
    out["ratio_plugin_over_bare"] = ratio;
    return WriteResults("bench-group", settings.out, out, all_completed);
  });
}

}  // namespace
}  // namespace chat::bench

int main(int argc, char** argv) { return chat::bench::Main(argc, argv); }
