// bench-direct: throughput and end-to-end latency of 1:1 messages through bare Mosquitto and through
// Mosquitto with the chat plugin, measured back to back in one run on loopback, with the ratio of the two.
//   bench-direct --pairs 8 --messages 2000 --window 32 --out bench-direct.json   (closed loop: saturation)
//   bench-direct --pairs 8 --messages 2000 --rate 4000                         (open loop at a fixed rate)
#include <mosquitto.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/report.h"
#include "core/topic_format.h"
#include "harness/broker_process.h"

// The load generator is libmosquitto without its own threads: every client's socket goes into one
// poll() loop per generator thread (default one), and reads, writes and callbacks all run there. Mosquitto
// is single-threaded, so on a 2-core machine the broker has one core and the generator the other; one
// thread over all sockets spends that core on the MQTT work itself, where a thread per client (libmosquitto
// loop_start) or Paho's callback threads would add locking and context switches per message and compete
// with the broker. --threads 2 lets one check that the generator is not what limits the figures.

namespace chat::bench {
namespace {

using nlohmann::json;

struct Settings {
  int pairs = 8;
  int messages = 2000;
  int window = 32;
  int threads = 1;
  int text_bytes = 100;
  // The plugin phase's send QoS. At 0 the chat ack is a send's only acknowledgement: four packets per
  // message, as bare Mosquitto at QoS 1. The bare phase always publishes at QoS 1.
  int plugin_send_qos = 1;
  // Open loop: total sends per second over all pairs, each send due at its time whatever came back, its
  // latency counted from that time (a late generator or a stalled broker cannot hide a delay). 0: closed
  // loop, a window of sends in flight per pair.
  int rate = 0;
  // Bare and plugin phases alternate this many times (bare, plugin, bare, ...): drift on a shared
  // machine then hits both alike. Ratios are taken between the medians.
  int rounds = 1;
  int timeout_seconds = 120;
  std::string out = "bench-direct.json";
};

// One sender and its receiver. Both clients of a pair are driven by the same thread, so the counters
// need no synchronisation.
struct Pair {
  int index = 0;
  mosquitto* sender = nullptr;
  mosquitto* receiver = nullptr;
  std::string publish_topic;     // where the sender publishes
  std::string subscribe_filter;  // what the receiver subscribes to
  std::string recipient;         // plugin phase: the receiver's user id

  int sender_connack = -1;  // CONNACK reason, -1 until it arrives
  int receiver_connack = -1;
  bool subscribed = false;
  bool subscription_refused = false;

  bool with_plugin = false;
  std::int64_t sent = 0;
  // What counts as "sent": bare, the PUBACK; plugin, the chat ack (stored) or an error reply, since
  // the plugin's PUBACK only says the broker has the request.
  std::int64_t acked = 0;
  std::int64_t rejected = 0;  // refused (bare: PUBACK >= 0x80, plugin: an error reply): never delivered
  std::int64_t delivered = 0;
  std::int64_t last_delivery_ns = 0;
  std::vector<std::int64_t> sent_ns;  // by send number
  std::vector<std::int64_t> latencies_ns;
  std::vector<std::int64_t> ack_latencies_ns;
};

struct PhaseResult : chat::bench::PhaseOutcome {
  std::int64_t expected = 0;
  std::int64_t delivered = 0;
  std::int64_t rejected = 0;
  double elapsed_s = 0;
  double messages_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double ack_p50_ms = 0;  // send to "sent" (see Pair::acked)
  double ack_p99_ms = 0;
  // Mosquitto's event-loop thread alone while the messages flow (broker_cpu_s also counts start-up,
  // logins and the plugin's writer thread): the thread every client of the node waits behind.
  double loop_cpu_s = 0;
  double LoopMicrosecondsPerMessage() const {
    return delivered > 0 ? loop_cpu_s * 1e6 / static_cast<double>(delivered) : 0;
  }
};

void OnConnect(mosquitto* client, void* data, int reason, int, const mosquitto_property*) {
  Pair* pair = static_cast<Pair*>(data);
  (client == pair->sender ? pair->sender_connack : pair->receiver_connack) = reason;
}

void OnSubscribe(mosquitto*, void* data, int, int count, const int* granted, const mosquitto_property*) {
  Pair* pair = static_cast<Pair*>(data);
  pair->subscribed = true;
  pair->subscription_refused = count < 1 || granted[0] >= 0x80;
}

void NoteAck(Pair* pair, std::int64_t send_number) {
  ++pair->acked;
  if (send_number >= 0 && send_number < static_cast<std::int64_t>(pair->sent_ns.size())) {
    pair->ack_latencies_ns.push_back(NowNs() - pair->sent_ns[static_cast<std::size_t>(send_number)]);
  }
}

// Mosquitto acknowledges one connection's QoS 1 publishes in the order they came, so the n-th PUBACK
// answers the n-th send.
void OnPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
  Pair* pair = static_cast<Pair*>(data);
  if (pair->with_plugin) return;  // a refusal also comes as an error reply, which counts it
  if (reason >= 0x80) ++pair->rejected;
  NoteAck(pair, pair->acked);
}

// The plugin's reply to a send: the chat ack or an error, matched to its send by the cmid "b<pair>-<n>".
void OnSenderReply(Pair* pair, const mosquitto_message* message) {
  chat::bench::SendReply reply = chat::bench::ReadSendReply(message->payload, message->payloadlen, 'b');
  if (reply.kind == chat::bench::SendReply::Kind::kAck) {
    NoteAck(pair, reply.n);
  } else if (reply.kind == chat::bench::SendReply::Kind::kError) {
    ++pair->rejected;
    NoteAck(pair, -1);  // an error's latency is not a send's
  }
}

void OnMessage(mosquitto* client, void* data, const mosquitto_message* message, const mosquitto_property*) {
  Pair* pair = static_cast<Pair*>(data);
  if (client == pair->sender) {
    OnSenderReply(pair, message);
    return;
  }
  const char* found = chat::bench::FindStamp(message->payload, message->payloadlen);
  if (found == nullptr) return;  // not one of ours (nothing else is expected on these topics)
  std::int64_t now = NowNs();
  std::int64_t stamp = std::strtoll(found + sizeof(kStampMarker) - 1, nullptr, 10);
  pair->latencies_ns.push_back(now - stamp);
  ++pair->delivered;
  pair->last_delivery_ns = now;
}

class Phase {
 public:
  Phase(std::string name, const Settings& settings, bool with_plugin)
      : name_(std::move(name)), settings_(settings), with_plugin_(with_plugin) {}

  // Plugin phase: the accounts, created offline before the broker starts.
  std::string AddUsers(chat::harness::BrokerProcess& broker) const {
    for (int i = 0; i < settings_.pairs; ++i) {
      for (const std::string& user : {SenderUser(i), ReceiverUser(i)}) {
        if (std::string error = broker.AddUserOffline(user, kPassword); !error.empty()) return user + ": " + error;
      }
    }
    return "";
  }

  PhaseResult Run(const chat::harness::BrokerProcess& broker) {
    int port = broker.mqtt_port();
    PhaseResult result;
    result.name = name_;
    result.expected = static_cast<std::int64_t>(settings_.pairs) * settings_.messages;
    auto deadline = Clock::now() + std::chrono::seconds(settings_.timeout_seconds);

    result.error = Connect(port, deadline);
    std::int64_t start_ns = NowNs();
    measure_start_ns_ = start_ns;
    double cpu_before = CpuSeconds(RUSAGE_SELF);
    // Logins (a password hash each) and start-up are not what a message costs the event loop.
    double loop_before = broker.Usage().main_thread_cpu_seconds;
    if (result.error.empty()) result.error = Measure(deadline);
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - cpu_before;
    result.loop_cpu_s = broker.Usage().main_thread_cpu_seconds - loop_before;
    std::int64_t end_ns = start_ns;
    std::vector<std::int64_t> latencies;
    for (Pair& pair : pairs_) {
      result.delivered += pair.delivered;
      result.rejected += pair.rejected;
      end_ns = std::max(end_ns, pair.last_delivery_ns);
      latencies.insert(latencies.end(), pair.latencies_ns.begin(), pair.latencies_ns.end());
    }
    Disconnect();

    result.completed = result.error.empty() && result.delivered == result.expected;
    if (result.error.empty() && !result.completed) result.error = std::to_string(result.rejected) + " sends rejected";
    result.elapsed_s = static_cast<double>(end_ns - start_ns) / 1e9;
    if (result.elapsed_s > 0) result.messages_per_s = static_cast<double>(result.delivered) / result.elapsed_s;
    chat::bench::LatencySummary summary = chat::bench::Summarize(latencies);
    result.p50_ms = summary.p50_ms;
    result.p99_ms = summary.p99_ms;
    result.max_ms = summary.max_ms;
    std::vector<std::int64_t> ack_latencies;
    for (const Pair& pair : pairs_) {
      ack_latencies.insert(ack_latencies.end(), pair.ack_latencies_ns.begin(), pair.ack_latencies_ns.end());
    }
    chat::bench::LatencySummary acks = chat::bench::Summarize(ack_latencies);
    result.ack_p50_ms = acks.p50_ms;
    result.ack_p99_ms = acks.p99_ms;
    return result;
  }

 private:
  static constexpr char kPassword[] = "bench-password";

  std::string SenderUser(int i) const { return "s" + std::to_string(i); }
  std::string ReceiverUser(int i) const { return "r" + std::to_string(i); }

  mosquitto* NewClient(Pair* pair, const std::string& user, bool is_receiver, int port, std::string* error) {
    std::string client_id = chat::bench::LoadClientId(user, with_plugin_);
    mosquitto* client = clients_.New(client_id, true, pair);
    if (client == nullptr) {
      *error = "mosquitto_new failed";
      return nullptr;
    }
    mosquitto_connect_v5_callback_set(client, OnConnect);
    mosquitto_subscribe_v5_callback_set(client, OnSubscribe);
    mosquitto_publish_v5_callback_set(client, OnPublish);
    // Receivers count deliveries; plugin senders get their chat acks (replies need no subscription).
    if (is_receiver || with_plugin_) mosquitto_message_v5_callback_set(client, OnMessage);
    if (with_plugin_) mosquitto_username_pw_set(client, user.c_str(), kPassword);
    int rc = mosquitto_connect(client, "127.0.0.1", port, 60);
    if (rc != MOSQ_ERR_SUCCESS) *error = "connect " + client_id + ": " + mosquitto_strerror(rc);
    return client;
  }

  // Creates, connects and subscribes every client; returns "" or an error.
  std::string Connect(int port, Clock::time_point deadline) {
    pairs_.resize(static_cast<std::size_t>(settings_.pairs));
    std::string error;
    for (int i = 0; i < settings_.pairs && error.empty(); ++i) {
      Pair& pair = pairs_[static_cast<std::size_t>(i)];
      pair.index = i;
      pair.with_plugin = with_plugin_;
      pair.latencies_ns.reserve(static_cast<std::size_t>(settings_.messages));
      pair.ack_latencies_ns.reserve(static_cast<std::size_t>(settings_.messages));
      pair.sent_ns.reserve(static_cast<std::size_t>(settings_.messages));
      pair.recipient = ReceiverUser(i);
      if (with_plugin_) {
        pair.publish_topic = chat::core::RequestTopic(chat::core::RequestOp::kSend);
        pair.subscribe_filter = chat::core::UserTopic(ReceiverUser(i), "#");
      } else {
        pair.publish_topic = "bench/" + std::to_string(i);
        pair.subscribe_filter = pair.publish_topic;
      }
      pair.sender = NewClient(&pair, SenderUser(i), false, port, &error);
      if (error.empty()) pair.receiver = NewClient(&pair, ReceiverUser(i), true, port, &error);
    }
    if (!error.empty()) return error;

    std::vector<Pair*> all;
    for (Pair& pair : pairs_) all.push_back(&pair);
    std::vector<mosquitto*> clients;  // sender, receiver, sender, ... as Drive services them
    for (Pair& pair : pairs_) {
      clients.push_back(pair.sender);
      clients.push_back(pair.receiver);
    }
    error = chat::bench::AwaitConnacks(
        clients, deadline, settings_.timeout_seconds,
        [&](std::size_t i) {
          const Pair& p = pairs_[i / 2];
          return i % 2 == 0 ? p.sender_connack : p.receiver_connack;
        },
        [&](std::size_t i) {
          const Pair& p = pairs_[i / 2];
          return "login refused for pair " + std::to_string(p.index) + " (CONNACK " +
                 std::to_string(std::max(p.sender_connack, p.receiver_connack)) + ")";
        },
        "connecting");
    if (!error.empty()) return error;
    for (Pair& pair : pairs_) {
      int rc = mosquitto_subscribe_v5(pair.receiver, nullptr, pair.subscribe_filter.c_str(), 1, 0, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) return std::string("subscribe: ") + mosquitto_strerror(rc);
    }
    error = Drive(all, false, deadline, [&] {
      return std::all_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.subscribed; });
    });
    if (!error.empty()) return "subscribing: " + error;
    for (const Pair& pair : pairs_) {
      if (pair.subscription_refused) return "subscription refused: " + pair.subscribe_filter;
    }
    return "";
  }

  // Runs the senders to completion across the generator threads; returns "" or the first error.
  std::string Measure(Clock::time_point deadline) {
    int threads = std::clamp(settings_.threads, 1, settings_.pairs);
    std::vector<std::vector<Pair*>> groups(static_cast<std::size_t>(threads));
    for (Pair& pair : pairs_) groups[static_cast<std::size_t>(pair.index % threads)].push_back(&pair);
    std::vector<std::string> errors(groups.size());
    std::atomic<bool> failed{false};
    auto run = [&](std::size_t g) {
      const std::vector<Pair*>& group = groups[g];
      errors[g] = Drive(group, true, deadline, [&] {
        if (failed) return true;
        return std::all_of(group.begin(), group.end(), [&](const Pair* p) {
          return p->delivered + p->rejected >= settings_.messages && p->acked >= settings_.messages;
        });
      });
      if (!errors[g].empty()) failed = true;
    };
    std::vector<std::thread> workers;
    for (std::size_t g = 1; g < groups.size(); ++g) workers.emplace_back(run, g);
    run(0);
    for (std::thread& worker : workers) worker.join();
    for (const std::string& error : errors) {
      if (!error.empty()) return error;
    }
    return "";
  }

  // Closed loop: sends while the pair's window allows. The window counts messages not yet delivered (or
  // rejected), not just unacknowledged ones: Mosquitto drops QoS 1 messages beyond max_queued_messages for
  // a slow subscriber, so only an end-to-end bound keeps every message deliverable and memory bounded.
  // Open loop (--rate): sends every send that has fallen due, stamped with the time it was due.
  void TopUp(Pair* pair) {
    if (settings_.rate > 0) {
      std::int64_t now = NowNs();
      while (pair->sent < settings_.messages && pair->sent - pair->delivered - pair->rejected < kOpenLoopBound) {
        std::int64_t due = DueNs(*pair, pair->sent);
        if (due > now || !Send(pair, due)) return;
      }
      return;
    }
    while (pair->sent < settings_.messages && pair->sent - pair->delivered - pair->rejected < settings_.window &&
           pair->sent - pair->acked < settings_.window) {
      if (!Send(pair, NowNs())) return;
    }
  }

  // Open loop: pair i's n-th send, the pairs staggered evenly within one interval.
  std::int64_t DueNs(const Pair& pair, std::int64_t n) const {
    double interval_ns = 1e9 * settings_.pairs / settings_.rate;
    return measure_start_ns_ + static_cast<std::int64_t>((static_cast<double>(n) + static_cast<double>(pair.index) /
                                                                                          settings_.pairs) *
                                                         interval_ns);
  }

  // Publishes the pair's next message stamped `stamp_ns`; false when the client refused it.
  bool Send(Pair* pair, std::int64_t stamp_ns) {
    char text[512];
    char payload[1024];
    int length = std::snprintf(text, sizeof(text), "%s%" PRId64 " p=%d n=%" PRId64 " ", kStampMarker, stamp_ns,
                               pair->index, pair->sent);
    int target = std::min<int>(settings_.text_bytes, static_cast<int>(sizeof(text)) - 1);
    while (length < target) text[length++] = 'x';
    text[length] = '\0';
    const char* body = text;
    if (with_plugin_) {
      length = std::snprintf(payload, sizeof(payload), R"({"to":"%s","text":"%s","cmid":"b%d-%)" PRId64 "\"}",
                             pair->recipient.c_str(), text, pair->index, pair->sent);
      body = payload;
    }
    int rc = mosquitto_publish_v5(pair->sender, nullptr, pair->publish_topic.c_str(), length, body, send_qos(), false,
                                  nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return false;  // a lost connection shows up in the read path
    // The ack latency is the server's answer time, from the publish; the delivery latency (the stamp) runs
    // from when the send was due.
    pair->sent_ns.push_back(settings_.rate > 0 ? NowNs() : stamp_ns);
    ++pair->sent;
    return true;
  }

  int send_qos() const { return with_plugin_ ? settings_.plugin_send_qos : 1; }

  // Services the pairs' sockets until `done` or the deadline, topping up senders when `publishing`.
  std::string Drive(const std::vector<Pair*>& group, bool publishing, Clock::time_point deadline,
                    const std::function<bool()>& done) {
    std::vector<mosquitto*> clients;
    for (Pair* pair : group) {
      clients.push_back(pair->sender);
      clients.push_back(pair->receiver);
    }
    std::function<void()> top_up;
    if (publishing) {
      top_up = [&] {
        for (Pair* pair : group) TopUp(pair);
      };
    }
    return chat::bench::DriveClients(clients, deadline, settings_.timeout_seconds, done, top_up,
                                     settings_.rate > 0 && publishing ? 1 : 10);
  }

  void Disconnect() {
    std::vector<mosquitto*> clients;
    for (Pair& pair : pairs_) {
      clients.push_back(pair.sender);
      clients.push_back(pair.receiver);
    }
    chat::bench::DisconnectAll(clients);
  }

  // Open loop: messages on their way to one receiver past which the generator stops sending (the server
  // cannot keep up with the rate; the run then shows it in its latencies and its elapsed time).
  static constexpr std::int64_t kOpenLoopBound = 20000;

  std::string name_;
  const Settings& settings_;
  std::int64_t measure_start_ns_ = 0;
  bool with_plugin_;
  std::vector<Pair> pairs_;
  chat::bench::ClientPool clients_;  // last: its clients go before the state their callbacks use
};

PhaseResult RunPhaseWithBroker(const std::string& name, const Settings& settings, bool with_plugin) {
  chat::harness::BrokerOptions options;
  options.with_plugin = with_plugin;
  // The default per-user limits (sends 20/s, burst 100; requests 50/s, burst 200) would make this a
  // benchmark of the rate limiter.
  if (with_plugin) {
    options.extra_yaml =
        "limits:\n  send_rate_per_second: 100000\n  send_burst: 1000000\n"
        "  request_rate_per_second: 100000\n  request_burst: 1000000\n";
  }
  chat::harness::BrokerProcess broker(options);
  Phase phase(name, settings, with_plugin);
  PhaseResult failed;
  failed.name = name;
  failed.expected = static_cast<std::int64_t>(settings.pairs) * settings.messages;
  if (with_plugin) {
    if (std::string error = phase.AddUsers(broker); !error.empty()) {
      failed.error = "creating users: " + error;
      return failed;
    }
  }
  if (std::string error = broker.Start(); !error.empty()) {
    failed.error = "starting the broker: " + error;
    return failed;
  }
  std::cout << name << ": " << settings.pairs << " pairs x " << settings.messages << " messages on port "
            << broker.mqtt_port() << "..." << std::endl;
  PhaseResult result = phase.Run(broker);
  if (!result.completed) result.error += BrokerLogTail(broker.log());
  return result;
}

// The broker's CPU time shows up in RUSAGE_CHILDREN once the harness has reaped it (on destruction).
PhaseResult RunPhase(const std::string& name, const Settings& settings, bool with_plugin) {
  double before = CpuSeconds(RUSAGE_CHILDREN);
  PhaseResult result = RunPhaseWithBroker(name, settings, with_plugin);
  result.broker_cpu_s = CpuSeconds(RUSAGE_CHILDREN) - before;
  return result;
}

json ToJson(const PhaseResult& r) {
  return r.PhaseOutcome::ToJson({{"expected", r.expected},
                                 {"delivered", r.delivered},
                                 {"rejected", r.rejected},
                                 {"elapsed_s", r.elapsed_s},
                                 {"messages_per_s", r.messages_per_s},
                                 {"latency_p50_ms", r.p50_ms},
                                 {"latency_p99_ms", r.p99_ms},
                                 {"latency_max_ms", r.max_ms},
                                 {"ack_latency_p50_ms", r.ack_p50_ms},
                                 {"ack_latency_p99_ms", r.ack_p99_ms},
                                 {"event_loop_cpu_s", r.loop_cpu_s},
                                 {"event_loop_us_per_message", r.LoopMicrosecondsPerMessage()}});
}

int Main(int argc, char** argv) {
  Settings settings;
  CLI::App app{"bench-direct: 1:1 message throughput and latency, bare Mosquitto vs. the chat plugin"};
  chat::bench::AddBoundedOption(app, "--pairs", &settings.pairs, "sender/receiver pairs", 1, 500);
  chat::bench::AddBoundedOption(app, "--messages", &settings.messages, "messages per sender", 1, 10000000);
  chat::bench::AddBoundedOption(app, "--window", &settings.window, "messages in flight per sender", 1, 10000);
  chat::bench::AddBoundedOption(app, "--threads", &settings.threads, "load generator threads", 1, 64);
  chat::bench::AddBoundedOption(app, "--text-bytes", &settings.text_bytes, "message text size", 40, 500);
  chat::bench::AddBoundedOption(app, "--plugin-send-qos", &settings.plugin_send_qos,
                                "QoS of the plugin phase's sends (0: the chat ack is the only acknowledgement)", 0, 1);
  chat::bench::AddBoundedOption(app, "--rate", &settings.rate,
                                "open loop: sends per second over all pairs, each due at its time (0: closed loop)",
                                0, 1000000);
  chat::bench::AddBoundedOption(app, "--rounds", &settings.rounds, "bare and plugin phases, alternating", 1, 20);
  chat::bench::AddCommonOptions(app, &settings.timeout_seconds, &settings.out);
  CLI11_PARSE(app, argc, argv);

  return chat::bench::RunBenchmark("bench-direct", [&] {
    std::vector<PhaseResult> bare_rounds, plugin_rounds;
    for (int round = 0; round < settings.rounds && !Interrupted(); ++round) {
      bare_rounds.push_back(RunPhase("bare", settings, false));
      if (!Interrupted()) plugin_rounds.push_back(RunPhase("plugin", settings, true));
    }

    const chat::bench::Table table(
        "phase:-7 delivered:10 expected:10 elapsed_s:10.3 messages/s:12 p50_ms:9.3 p99_ms:9.3 "
        "max_ms:9.3 ack_p50:8.3 ack_p99:8.3 gen_cpu_s:9.3 brk_cpu_s:9.3 loop_us/msg:11.1");
    std::printf("\n");
    table.PrintHeader();
    bool all_completed = true;
    json out = {{"settings",
                 RunSettings({{"pairs", settings.pairs},
                              {"messages_per_sender", settings.messages},
                              {"window", settings.window},
                              {"rate", settings.rate},
                              {"rounds", settings.rounds},
                              {"generator_threads", settings.threads},
                              {"text_bytes", settings.text_bytes},
                              {"plugin_send_qos", settings.plugin_send_qos}})},
                {"phases", {{"bare", json::array()}, {"plugin", json::array()}}}};
    for (std::size_t i = 0; i < std::max(bare_rounds.size(), plugin_rounds.size()); ++i) {
      for (const std::vector<PhaseResult>* rounds : {&bare_rounds, &plugin_rounds}) {
        if (i >= rounds->size()) continue;
        const PhaseResult& r = (*rounds)[i];
        table.PrintRow({r.name, r.delivered, r.expected, r.elapsed_s, r.messages_per_s, r.p50_ms, r.p99_ms, r.max_ms,
                        r.ack_p50_ms, r.ack_p99_ms, r.generator_cpu_s, r.broker_cpu_s,
                        r.LoopMicrosecondsPerMessage()});
        all_completed &= chat::bench::NoteIncomplete(r.name, r.completed, r.error);
        out["phases"][r.name].push_back(ToJson(r));
      }
    }
    if (!bare_rounds.empty() && !plugin_rounds.empty()) {
      // The median round of each figure, each server on its own.
      auto median = [](const std::vector<PhaseResult>& rounds, const std::function<double(const PhaseResult&)>& of) {
        std::vector<double> values;
        for (const PhaseResult& r : rounds) values.push_back(of(r));
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
      };
      auto ratio_of = [&](const std::function<double(const PhaseResult&)>& of) {
        return Ratio(median(plugin_rounds, of), median(bare_rounds, of));
      };
      json ratio = {
          {"throughput", ratio_of([](const PhaseResult& r) { return r.messages_per_s; })},
          {"latency_p50", ratio_of([](const PhaseResult& r) { return r.p50_ms; })},
          {"latency_p99", ratio_of([](const PhaseResult& r) { return r.p99_ms; })},
          {"ack_latency_p99", ratio_of([](const PhaseResult& r) { return r.ack_p99_ms; })},
          {"broker_cpu_per_message",
           ratio_of([](const PhaseResult& r) { return r.broker_cpu_s / std::max<double>(1, r.delivered); })},
          {"event_loop_cpu_per_message", ratio_of([](const PhaseResult& r) { return r.LoopMicrosecondsPerMessage(); })}};
      std::printf(
          "ratio plugin/bare (medians of %zu rounds): throughput %.3f, p50 latency %.2f, p99 latency %.2f, "
          "p99 ack latency %.2f, broker CPU per message %.2f (event loop thread %.2f)\n",
          plugin_rounds.size(), ratio["throughput"].get<double>(), ratio["latency_p50"].get<double>(),
          ratio["latency_p99"].get<double>(), ratio["ack_latency_p99"].get<double>(),
          ratio["broker_cpu_per_message"].get<double>(), ratio["event_loop_cpu_per_message"].get<double>());
      out["ratio_plugin_over_bare"] = ratio;
    }
    return WriteResults("bench-direct", settings.out, out, all_completed);
  });
}

}  // namespace
}  // namespace chat::bench

int main(int argc, char** argv) { return chat::bench::Main(argc, argv); }
