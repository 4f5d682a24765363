// 1:1 messages between sender/recipient pairs. Bare Mosquitto: each sender publishes on its own topic
// and its receiver subscribes to it. Chat server: each sender sends to its receiver, who subscribes to
// its own topics. A send counts as sent on the bare PUBACK and on the chat server's chat ack (stored):
// the chat server's PUBACK only says it has the request.
//
// Closed loop (a window of sends in flight per pair) finds the saturated rate; open loop (each send due
// at its time, whatever came back) measures latency at a fixed offered rate: a delivery's latency counts
// from when its send was due, so neither a late generator nor a stalled broker hides a delay.
#include <mosquitto.h>
#include <sys/resource.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "clients/bench/one_to_one.h"

#include "clients/bench/load_client.h"
#include "clients/bench/plot.h"
#include "clients/bench/servers.h"
#include "core/topic_format.h"

namespace chat::bench {
namespace {


// One sender and its receiver, driven by one thread, so the counters need no synchronisation.
struct Pair {
  int index = 0;
  mosquitto* sender = nullptr;
  mosquitto* receiver = nullptr;
  std::string publish_topic;     // where the sender publishes
  std::string subscribe_filter;  // what the receiver subscribes to
  std::string recipient;         // chat: the receiver's user id

  int sender_connack = -1;  // CONNACK reason, -1 until it arrives
  int receiver_connack = -1;
  bool subscribed = false;
  bool subscription_refused = false;

  bool chat = false;
  char cmid_prefix = 'b';
  std::int64_t sent = 0;
  std::int64_t acked = 0;     // bare: PUBACKs; chat: chat acks and error replies
  std::int64_t rejected = 0;  // refused sends: never delivered
  std::int64_t delivered = 0;
  std::int64_t last_delivery_ns = 0;
  std::vector<std::int64_t> sent_ns;  // by send number
  std::vector<std::int64_t> latencies_ns;
  std::vector<std::int64_t> ack_latencies_ns;
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

// Mosquitto acknowledges one connection's QoS 1 publishes in order: the n-th PUBACK answers the n-th send.
void OnPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
  Pair* pair = static_cast<Pair*>(data);
  if (pair->chat) return;  // a refusal also comes as an error reply, which counts it
  if (reason >= 0x80) ++pair->rejected;
  NoteAck(pair, pair->acked);
}

void OnMessage(mosquitto* client, void* data, const mosquitto_message* message, const mosquitto_property*) {
  Pair* pair = static_cast<Pair*>(data);
  if (client == pair->sender) {
    // The chat server's reply to a send, matched to it by the cmid "b<pair>-<n>".
    SendReply reply = ReadSendReply(message->payload, message->payloadlen, pair->cmid_prefix);
    if (reply.kind == SendReply::Kind::kAck) {
      NoteAck(pair, reply.n);
    } else if (reply.kind == SendReply::Kind::kError) {
      ++pair->rejected;
      NoteAck(pair, -1);  // an error's latency is not a send's
    }
    return;
  }
  const char* found = FindStamp(message->payload, message->payloadlen);
  if (found == nullptr) return;  // not one of ours (nothing else is expected on these topics)
  std::int64_t now = NowNs();
  pair->latencies_ns.push_back(now - std::strtoll(found + sizeof(kStampMarker) - 1, nullptr, 10));
  ++pair->delivered;
  pair->last_delivery_ns = now;
}

class OneToOneRun {
 public:
  OneToOneRun(const OneToOneLoad& load, Server server, const SuiteContext& context, std::string label)
      : load_(load), chat_(server == Server::kChat), context_(context), label_(std::move(label)) {}

  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement result;
    auto deadline = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    result.error = Connect(broker.mqtt_port(), deadline);
    std::int64_t start_ns = NowNs();
    measure_start_ns_ = start_ns;
    double generator_before = CpuSeconds(RUSAGE_SELF);
    BrokerCpu broker_before = ReadBrokerCpu(broker);  // logins and start-up are not what a message costs
    if (result.error.empty()) result.error = Measure(deadline);
    BrokerCpu broker_after = ReadBrokerCpu(broker);
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - generator_before;
    result.broker_cpu_s = broker_after.process_s - broker_before.process_s;
    std::int64_t end_ns = start_ns;
    std::int64_t delivered = 0, rejected = 0;
    std::vector<std::int64_t> latencies, ack_latencies;
    for (Pair& pair : pairs_) {
      delivered += pair.delivered;
      rejected += pair.rejected;
      end_ns = std::max(end_ns, pair.last_delivery_ns);
      latencies.insert(latencies.end(), pair.latencies_ns.begin(), pair.latencies_ns.end());
      ack_latencies.insert(ack_latencies.end(), pair.ack_latencies_ns.begin(), pair.ack_latencies_ns.end());
    }
    std::vector<mosquitto*> clients = Clients();
    DisconnectAll(clients);

    std::int64_t expected = static_cast<std::int64_t>(load_.pairs) * load_.messages;
    result.completed = result.error.empty() && delivered == expected;
    if (result.error.empty() && !result.completed) result.error = std::to_string(rejected) + " sends rejected";
    double elapsed_s = static_cast<double>(end_ns - start_ns) / 1e9;
    double per_message = delivered > 0 ? 1e6 / static_cast<double>(delivered) : 0;
    LatencySummary delivery = Summarize(latencies);
    LatencySummary ack = Summarize(ack_latencies);
    result.Set("messages_per_s", elapsed_s > 0 ? static_cast<double>(delivered) / elapsed_s : 0);
    result.Set("latency_p50_ms", delivery.p50_ms);
    result.Set("latency_p99_ms", delivery.p99_ms);
    result.Set("latency_max_ms", delivery.max_ms);
    result.Set("ack_p50_ms", ack.p50_ms);
    result.Set("ack_p99_ms", ack.p99_ms);
    result.Set("broker_cpu_us_per_msg", result.broker_cpu_s * per_message);
    result.Set("loop_cpu_us_per_msg", (broker_after.loop_s - broker_before.loop_s) * per_message);
    result.Set("generator_cpu_us_per_msg", result.generator_cpu_s * per_message);
    return result;
  }

 private:
  std::string SenderUser(int i) const { return "s" + std::to_string(i); }
  std::string ReceiverUser(int i) const { return "r" + std::to_string(i); }

  std::vector<mosquitto*> Clients() const {
    std::vector<mosquitto*> clients;  // sender, receiver, sender, ...: the order AwaitConnacks reads
    for (const Pair& pair : pairs_) {
      clients.push_back(pair.sender);
      clients.push_back(pair.receiver);
    }
    return clients;
  }

  mosquitto* NewClient(Pair* pair, const std::string& user, bool is_receiver, int port, std::string* error) {
    std::string client_id = BenchClientId(chat_ ? Server::kChat : Server::kBare, user);
    mosquitto* client = clients_.New(client_id, true, pair);
    if (client == nullptr) {
      *error = "mosquitto_new failed";
      return nullptr;
    }
    mosquitto_connect_v5_callback_set(client, OnConnect);
    mosquitto_subscribe_v5_callback_set(client, OnSubscribe);
    mosquitto_publish_v5_callback_set(client, OnPublish);
    // Receivers count deliveries; chat senders get their chat acks (replies need no subscription).
    if (is_receiver || chat_) mosquitto_message_v5_callback_set(client, OnMessage);
    mosquitto_username_pw_set(client, user.c_str(), kBenchPassword);
    int rc = mosquitto_connect(client, "127.0.0.1", port, 60);
    if (rc != MOSQ_ERR_SUCCESS) *error = "connect " + client_id + ": " + mosquitto_strerror(rc);
    return client;
  }

  std::string Connect(int port, Clock::time_point deadline) {
    pairs_.resize(static_cast<std::size_t>(load_.pairs));
    std::string error;
    for (int i = 0; i < load_.pairs && error.empty(); ++i) {
      Pair& pair = pairs_[static_cast<std::size_t>(i)];
      pair.index = i;
      pair.chat = chat_;
      pair.cmid_prefix = load_.cmid_prefix;
      pair.latencies_ns.reserve(static_cast<std::size_t>(load_.messages));
      pair.ack_latencies_ns.reserve(static_cast<std::size_t>(load_.messages));
      pair.sent_ns.reserve(static_cast<std::size_t>(load_.messages));
      pair.recipient = ReceiverUser(i);
      if (chat_) {
        pair.publish_topic = core::RequestTopic(core::RequestOp::kSend);
        pair.subscribe_filter = core::UserTopic(ReceiverUser(i), "#");
      } else {
        pair.publish_topic = "bench/" + std::to_string(i);
        pair.subscribe_filter = pair.publish_topic;
      }
      pair.sender = NewClient(&pair, SenderUser(i), false, port, &error);
      if (error.empty()) pair.receiver = NewClient(&pair, ReceiverUser(i), true, port, &error);
    }
    if (!error.empty()) return error;
    std::vector<mosquitto*> clients = Clients();
    error = AwaitConnacks(
        clients, deadline, context_.timeout_seconds,
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
    error = DriveClients(clients, deadline, context_.timeout_seconds, [&] {
      return std::all_of(pairs_.begin(), pairs_.end(), [](const Pair& p) { return p.subscribed; });
    });
    if (!error.empty()) return "subscribing: " + error;
    for (const Pair& pair : pairs_) {
      if (pair.subscription_refused) return "subscription refused: " + pair.subscribe_filter;
    }
    return "";
  }

  std::string Measure(Clock::time_point deadline) {
    std::int64_t total = static_cast<std::int64_t>(load_.pairs) * load_.messages;
    return DriveClients(
        Clients(), deadline, context_.timeout_seconds,
        [&] {
          std::int64_t done = 0;
          bool all = true;
          for (const Pair& p : pairs_) {
            done += p.delivered + p.rejected;
            all &= p.delivered + p.rejected >= load_.messages && p.acked >= load_.messages;
          }
          ShowProgress(label_ + ": " + std::to_string(done) + "/" + std::to_string(total) + " delivered");
          return all;
        },
        [&] {
          for (Pair& pair : pairs_) TopUp(&pair);
        },
        load_.rate > 0 ? 1 : 10);
  }

  // Closed loop: sends while the pair's window allows. The window counts messages not yet delivered (or
  // rejected), not just unacknowledged ones: Mosquitto drops QoS 1 messages beyond max_queued_messages
  // for a slow subscriber, so only an end-to-end bound keeps every message deliverable and memory bounded.
  // Open loop: sends every send that has fallen due, stamped with the time it was due.
  void TopUp(Pair* pair) {
    if (load_.rate > 0) {
      std::int64_t now = NowNs();
      while (pair->sent < load_.messages && pair->sent - pair->delivered - pair->rejected < kOpenLoopBound) {
        std::int64_t due = DueNs(*pair, pair->sent);
        if (due > now || !Send(pair, due)) return;
      }
      return;
    }
    while (pair->sent < load_.messages && pair->sent - pair->delivered - pair->rejected < load_.window &&
           pair->sent - pair->acked < load_.window) {
      if (!Send(pair, NowNs())) return;
    }
  }

  // Open loop: pair i's n-th send, the pairs staggered evenly within one interval.
  std::int64_t DueNs(const Pair& pair, std::int64_t n) const {
    double interval_ns = 1e9 * load_.pairs / load_.rate;
    double offset = static_cast<double>(pair.index) / load_.pairs;
    return measure_start_ns_ + static_cast<std::int64_t>((static_cast<double>(n) + offset) * interval_ns);
  }

  // Publishes the pair's next message stamped `stamp_ns`; false when the client refused it.
  bool Send(Pair* pair, std::int64_t stamp_ns) {
    char text[512];
    char payload[1024];
    int length = std::snprintf(text, sizeof(text), "%s%" PRId64 " p=%d n=%" PRId64 " ", kStampMarker, stamp_ns,
                               pair->index, pair->sent);
    int target = std::min<int>(load_.text_bytes, static_cast<int>(sizeof(text)) - 1);
    while (length < target) text[length++] = 'x';
    text[length] = '\0';
    const char* body = text;
    if (chat_) {
      length = std::snprintf(payload, sizeof(payload), R"({"to":"%s","text":"%s","cmid":"%c%d-%)" PRId64 "\"}",
                             pair->recipient.c_str(), text, load_.cmid_prefix, pair->index, pair->sent);
      body = payload;
    }
    int qos = chat_ ? load_.chat_send_qos : 1;
    int rc = mosquitto_publish_v5(pair->sender, nullptr, pair->publish_topic.c_str(), length, body, qos, false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) return false;  // a lost connection shows up in the read path
    // The ack latency is the server's answer time, from the publish; the delivery latency (the stamp)
    // runs from when the send was due.
    pair->sent_ns.push_back(load_.rate > 0 ? NowNs() : stamp_ns);
    ++pair->sent;
    return true;
  }

  // Open loop: messages on their way to one receiver past which the generator stops sending (the server
  // cannot keep up with the rate; the run then shows it in its latencies and its elapsed time).
  static constexpr std::int64_t kOpenLoopBound = 20000;

  const OneToOneLoad& load_;
  bool chat_;
  const SuiteContext& context_;
  std::string label_;
  std::int64_t measure_start_ns_ = 0;
  std::vector<Pair> pairs_;
  ClientPool clients_;  // last: its clients go before the state their callbacks use
};

}  // namespace

ServerSetup OneToOneSetup(const OneToOneLoad& load) {
  ServerSetup setup;
  for (int i = 0; i < load.pairs; ++i) {
    setup.users.push_back("s" + std::to_string(i));
    setup.users.push_back("r" + std::to_string(i));
  }
  if (load.power_loss) setup.chat_yaml = "durability: power_loss\n";
  return setup;
}

Measurement RunOneToOneOn(const harness::BrokerProcess& broker, const OneToOneLoad& load, Server server,
                          const SuiteContext& context, const std::string& label) {
  return OneToOneRun(load, server, context, label).Run(broker);
}

Measurement RunOneToOne(const OneToOneLoad& load, Server server, const SuiteContext& context,
                        const std::string& label) {
  return MeasureOnServer(server, OneToOneSetup(load), [&](const harness::BrokerProcess& broker) {
    return RunOneToOneOn(broker, load, server, context, label);
  });
}

namespace {

std::vector<FigureSpec> OneToOneFigures() {
  return {{"messages_per_s", "msg/s", true},        {"broker_cpu_us_per_msg", "us", false},
          {"loop_cpu_us_per_msg", "us", false},     {"generator_cpu_us_per_msg", "us", false},
          {"latency_p50_ms", "ms", false},          {"latency_p99_ms", "ms", false},
          {"latency_max_ms", "ms", false},          {"ack_p50_ms", "ms", false},
          {"ack_p99_ms", "ms", false}};
}


// The sweep's offered rates, as fractions of the chat server's saturated rate.
constexpr double kSweepFractions[] = {0.1, 0.25, 0.5, 0.75, 0.9};
constexpr int kSweepSeconds = 3;  // offered load per point

std::string Percent(double fraction) { return std::to_string(static_cast<int>(fraction * 100 + 0.5)) + "pct"; }

// An open-loop load at `rate` that lasts about `seconds`.
OneToOneLoad OpenLoop(const OneToOneLoad& base, double rate, int seconds, bool quick) {
  OneToOneLoad load = base;
  load.rate = rate;
  load.messages = std::max(quick ? 20 : 200, static_cast<int>(rate * seconds / load.pairs));
  return load;
}

// The chat server's saturated rate when the saturated scenario ran, else `fallback`.
double SaturatedRate(const SuiteContext& context, double fallback) {
  return context.chat_saturated_rate > 0 ? context.chat_saturated_rate : fallback;
}

// The sweep's points on one server, one after the other: offered rate, p50 and p99 at each.
Measurement SweepOn(const harness::BrokerProcess& broker, const OneToOneLoad& base, double saturated_rate,
                    Server server, const SuiteContext& context) {
  Measurement sweep;
  sweep.completed = true;
  char prefix = 'c';
  for (double fraction : kSweepFractions) {
    double rate = fraction * saturated_rate;
    OneToOneLoad load = OpenLoop(base, rate, kSweepSeconds, context.quick);
    load.cmid_prefix = prefix++;
    std::string pct = Percent(fraction);
    Measurement point = RunOneToOneOn(broker, load, server, context, "sweep " + std::string(ServerName(server)) + " " + pct);
    sweep.Set("offered_per_s_" + pct, rate);
    sweep.Set("latency_p50_ms_" + pct, point.Get("latency_p50_ms").value_or(0));
    sweep.Set("latency_p99_ms_" + pct, point.Get("latency_p99_ms").value_or(0));
    sweep.generator_cpu_s += point.generator_cpu_s;
    sweep.broker_cpu_s += point.broker_cpu_s;
    if (!point.completed) {
      sweep.completed = false;
      sweep.error += pct + ": " + point.error + "\n";
    }
    if (Interrupted()) break;
  }
  return sweep;
}

}  // namespace

// one-to-one, one-to-one-qos0, one-to-one-power-loss, half-load, idle and sweep, their options and targets.
void AddOneToOneScenarios(Suite& suite, CLI::App& app) {
  static OneToOneLoad saturated;  // the options below write here; the scenarios read it when they run
  static double half_rate = 0;
  static double fallback_rate = 8000;
  app.add_option("--pairs", saturated.pairs, "1:1: sender/receiver pairs")->capture_default_str()->check(CLI::Range(1, 500));
  app.add_option("--messages", saturated.messages, "1:1 saturated: messages per sender")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--window", saturated.window, "1:1 saturated: sends in flight per pair")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--text-bytes", saturated.text_bytes, "1:1: message text size")
      ->capture_default_str()
      ->check(CLI::Range(40, 500));
  app.add_option("--half-rate", half_rate,
                 "half-load: offered msg/s (default: half the chat server's saturated rate of this run)")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--fallback-rate", fallback_rate,
                 "the chat server's saturated rate to assume when one-to-one did not run in this run")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e6));

  auto closed = [](OneToOneLoad load, const char* name) {
    return [load, name](Server server, SuiteContext& context) {
      OneToOneLoad run = load;
      if (context.quick) {
        run.pairs = std::min(run.pairs, 2);
        run.messages = std::min(run.messages, 300);
      }
      return RunOneToOne(run, server, context, std::string(name) + " " + ServerName(server));
    };
  };

  Scenario one_to_one{"one-to-one",
                      "1:1 closed loop to saturation, chat sends at QoS 1 (docs/PROTOCOL.md's default)",
                      OneToOneFigures(), nullptr, nullptr};
  one_to_one.run = [closed](Server server, SuiteContext& context) { return closed(saturated, "one-to-one")(server, context); };
  one_to_one.finished = [](const nlohmann::json& medians, SuiteContext& context) {
    if (medians.contains("chat") && medians["chat"].contains("messages_per_s")) {
      context.chat_saturated_rate = medians["chat"]["messages_per_s"].get<double>();
    }
  };
  suite.Add(one_to_one);

  Scenario qos0{"one-to-one-qos0", "1:1 closed loop, chat sends at QoS 0 (the chat ack the only acknowledgement)",
                OneToOneFigures(), nullptr, nullptr};
  qos0.run = [closed](Server server, SuiteContext& context) {
    OneToOneLoad load = saturated;
    load.chat_send_qos = 0;
    return closed(load, "one-to-one-qos0")(server, context);
  };
  suite.Add(qos0);

  Scenario power_loss{"one-to-one-power-loss", "1:1 closed loop, chat durability power_loss (fsync per group commit)",
                      OneToOneFigures(), nullptr, nullptr};
  power_loss.run = [closed](Server server, SuiteContext& context) {
    OneToOneLoad load = saturated;
    load.power_loss = true;
    return closed(load, "one-to-one-power-loss")(server, context);
  };
  suite.Add(power_loss);

  Scenario half{"half-load", "1:1 open loop at half the chat server's saturated rate, the same rate for both",
                OneToOneFigures(), nullptr, nullptr};
  half.run = [](Server server, SuiteContext& context) {
    double rate = half_rate > 0 ? half_rate : SaturatedRate(context, fallback_rate) / 2;
    Measurement m = RunOneToOne(OpenLoop(saturated, rate, 4, context.quick), server, context,
                                "half-load " + std::string(ServerName(server)));
    m.Set("offered_per_s", rate);
    return m;
  };
  half.figures.push_back({"offered_per_s", "msg/s", true});
  suite.Add(half);

  Scenario idle{"idle", "1:1 open loop at 200 msg/s over one pair: the chat ack's latency when nothing queues",
                OneToOneFigures(), nullptr, nullptr};
  idle.run = [](Server server, SuiteContext& context) {
    OneToOneLoad load = saturated;
    load.pairs = 1;
    return RunOneToOne(OpenLoop(load, 200, 5, context.quick), server, context, "idle " + std::string(ServerName(server)));
  };
  suite.Add(idle);

  Scenario sweep{"sweep", "1:1 open loop at 10-90% of the chat server's saturated rate: latency against offered load",
                 {}, nullptr, nullptr};
  for (double fraction : kSweepFractions) {
    std::string pct = Percent(fraction);
    sweep.figures.push_back({"offered_per_s_" + pct, "msg/s", true});
    sweep.figures.push_back({"latency_p50_ms_" + pct, "ms", false});
    sweep.figures.push_back({"latency_p99_ms_" + pct, "ms", false});
  }
  sweep.run = [](Server server, SuiteContext& context) {
    // One server for every point, each point with cmids of its own.
    return MeasureOnServer(server, OneToOneSetup(saturated), [&](const harness::BrokerProcess& broker) {
      return SweepOn(broker, saturated, SaturatedRate(context, fallback_rate), server, context);
    });
  };
  sweep.finished = [](const nlohmann::json& medians, SuiteContext& context) {
    if (context.plot_path.empty()) return;
    std::vector<std::string> points;
    for (double fraction : kSweepFractions) points.push_back(Percent(fraction));
    std::string error = PlotLatencyAgainstLoad(medians, points, context.plot_path);
    std::printf("%s\n", error.empty() ? ("plot written to " + context.plot_path).c_str() : error.c_str());
  };
  suite.Add(sweep);

  using K = Target::Kind;
  suite.AddTarget({"one-to-one", "messages_per_s", K::kRatioAtLeast, 0.8, "1:1 durable saturated: >= 0.8x bare msg/s"});
  suite.AddTarget({"one-to-one", "broker_cpu_us_per_msg", K::kChatAtMost, 40,
                   "1:1 durable saturated: broker CPU <= 40 us/msg"});
  suite.AddTarget({"one-to-one-qos0", "messages_per_s", K::kRatioAtLeast, 0.8,
                   "1:1 saturated, chat sends at QoS 0: >= 0.8x bare msg/s"});
  suite.AddTarget({"one-to-one-power-loss", "messages_per_s", K::kRatioAtLeast, 0.6,
                   "1:1 power_loss saturated: >= 0.6x bare msg/s"});
  suite.AddTarget({"half-load", "latency_p50_ms", K::kRatioAtMost, 2, "1:1 at half load: p50 <= 2x bare's"});
  suite.AddTarget({"half-load", "latency_p99_ms", K::kRatioAtMost, 2, "1:1 at half load: p99 <= 2x bare's"});
  suite.AddTarget({"idle", "ack_p99_ms", K::kChatAtMost, 2, "idle: chat-ack p99 <= 2 ms"});
}

const ScenarioFile kOneToOneScenarios(10, AddOneToOneScenarios);

}  // namespace chat::bench
