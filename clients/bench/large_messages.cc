// Large messages: 100,000 characters of Hangul (3 bytes each in UTF-8, about 300 KB), one at a time from
// one sender to one receiver, over MQTT/TCP and then MQTT over WebSocket on the same server: what the
// WebSocket listener costs a large message. Bare Mosquitto: the raw text on a plain topic. Chat server:
// a 1:1 send of that text, the longest it accepts; the next send goes once the receiver has the message
// and the sender its chat ack.
//
// libmosquitto has no WebSocket client, so Paho drives both transports and they compare like for like.
// Paho delivers on threads of its own; each message's latency is read when the measuring thread takes
// it from the receiver's queue, a thread hand-off (microseconds) after it arrived.
//
// Mosquitto 2.0.11 sends to a WebSocket client a few KB per turn of its event loop, which waits up to
// 100 ms when nothing else happens (upstream issue #1390; MQTT.js sees the same as Paho): a 300 KB
// message takes seconds to reach a WebSocket receiver. Each transport therefore stops after its
// messages or its time budget, whichever comes first, and the figures say how many it measured.
#include <mqtt/async_client.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/common/connect_retry.h"
#include "core/topic_format.h"

namespace chat::bench {
namespace {

// The chat server's limit (limits.max_message_chars), stamp included.
constexpr std::size_t kMessageChars = 100000;
constexpr char kSenderUser[] = "large-sender";
constexpr char kReceiverUser[] = "large-receiver";
constexpr char kBareTopic[] = "bench/large";
constexpr int kKeepaliveSeconds = 60;

struct LargeLoad {
  int messages = 30;  // per transport, at most
  int seconds = 20;   // per transport: no send starts after this (the first always does)
};

// One transport: its URI on the broker, its name in the figures and client ids, and the first
// character of its sends' cmids (the transports share one server, where cmids must not repeat).
struct Transport {
  std::string name;  // "tcp", "ws"
  std::string uri;
  char cmid_prefix;
};

// `chars` Hangul syllables (U+AC00 onwards, cycling through all 11,172) in UTF-8: three bytes each.
std::string HangulText(std::size_t chars) {
  constexpr char32_t kFirst = 0xAC00;
  constexpr char32_t kCount = 11172;
  std::string text;
  text.reserve(chars * 3);
  for (std::size_t i = 0; i < chars; ++i) {
    char32_t c = kFirst + static_cast<char32_t>(i % kCount);
    text += static_cast<char>(0xE0 | (c >> 12));
    text += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    text += static_cast<char>(0x80 | (c & 0x3F));
  }
  return text;
}

// A Paho client logged in as one device; what it receives queues until Next takes it. Disconnects when
// it goes.
class PahoDevice {
 public:
  PahoDevice(const std::string& uri, const std::string& client_id)
      : client_(uri, client_id, mqtt::create_options(MQTTVERSION_5)) {
    client_.start_consuming();
  }
  ~PahoDevice() {
    if (!client_.is_connected()) return;
    try {
      client_.disconnect()->wait_for(std::chrono::seconds(5));
    } catch (const mqtt::exception&) {
      // Going anyway: the broker drops the connection.
    }
  }
  PahoDevice(const PahoDevice&) = delete;
  PahoDevice& operator=(const PahoDevice&) = delete;

  // Logs in (again while the chat server closes the connection to check the password off its loop) and
  // subscribes to `filter` ("" for none). Throws mqtt::exception; "" or why the subscription was refused.
  std::string Start(const std::string& user, const std::string& filter) {
    clients::ConnectWithRetry(client_, mqtt::connect_options_builder()
                                           .mqtt_version(MQTTVERSION_5)
                                           .clean_start(true)
                                           .user_name(user)
                                           .password(kBenchPassword)
                                           .keep_alive_interval(std::chrono::seconds(kKeepaliveSeconds))
                                           .connect_timeout(std::chrono::seconds(10))
                                           .finalize());
    if (filter.empty()) return "";
    mqtt::token_ptr token = client_.subscribe(filter, 1);
    token->wait();
    std::vector<mqtt::ReasonCode> codes = token->get_subscribe_response().get_reason_codes();
    if (codes.empty() || codes[0] >= 0x80) return "subscription refused: " + filter;
    return "";
  }

  mqtt::delivery_token_ptr Publish(const std::string& topic, const std::string& payload) {
    return client_.publish(mqtt::make_message(topic, payload, 1, false));
  }

  // The next message received, or nullptr when none came by `deadline` (or Ctrl-C); throws when the
  // connection is lost.
  mqtt::const_message_ptr Next(Clock::time_point deadline) {
    while (!Interrupted() && Clock::now() < deadline) {
      mqtt::const_message_ptr message;
      // Short waits, so that Ctrl-C is noticed.
      if (!client_.try_consume_message_for(&message, std::chrono::milliseconds(100))) continue;
      if (!message) throw mqtt::exception(MQTTASYNC_DISCONNECTED, "connection lost");  // Paho's mark for it
      return message;
    }
    return nullptr;
  }

 private:
  mqtt::async_client client_;
};

class LargeRun {
 public:
  LargeRun(const LargeLoad& load, Server server, const SuiteContext& context)
      : load_(load), chat_(server == Server::kChat), server_(server), context_(context),
        hangul_(HangulText(kMessageChars)) {}

  // Both transports, one after the other, on `broker`.
  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement result;
    const Transport transports[] = {{"tcp", broker.mqtt_uri(), 't'},
                                    {"ws", "ws://127.0.0.1:" + std::to_string(broker.ws_port()), 'w'}};
    auto deadline = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    double generator_before = CpuSeconds(RUSAGE_SELF);
    BrokerCpu broker_before = ReadBrokerCpu(broker);
    std::vector<LatencySummary> summaries;
    std::vector<std::size_t> measured;
    for (const Transport& transport : transports) {
      std::vector<std::int64_t> latencies_ns;
      latencies_ns.reserve(static_cast<std::size_t>(load_.messages));
      result.error = Measure(transport, deadline, &latencies_ns);
      if (!result.error.empty()) break;
      measured.push_back(latencies_ns.size());
      summaries.push_back(Summarize(latencies_ns));
    }
    result.generator_cpu_s = CpuSeconds(RUSAGE_SELF) - generator_before;
    result.broker_cpu_s = ReadBrokerCpu(broker).process_s - broker_before.process_s;
    result.completed = result.error.empty();
    if (!result.completed) return result;
    const LatencySummary& tcp = summaries[0];
    const LatencySummary& ws = summaries[1];
    result.Set("tcp_latency_p50_ms", tcp.p50_ms);
    result.Set("tcp_latency_p99_ms", tcp.p99_ms);
    result.Set("ws_latency_p50_ms", ws.p50_ms);
    result.Set("ws_latency_p99_ms", ws.p99_ms);
    result.Set("ws_over_tcp_p50", tcp.p50_ms > 0 ? ws.p50_ms / tcp.p50_ms : 0);
    result.Set("tcp_messages", static_cast<double>(measured[0]));
    result.Set("ws_messages", static_cast<double>(measured[1]));
    return result;
  }

 private:
  // One transport's closed loop within its budget, its latencies added to `latencies_ns`; "" or the error.
  std::string Measure(const Transport& transport, Clock::time_point deadline, std::vector<std::int64_t>* latencies_ns) {
    const std::string label = std::string("large ") + ServerName(server_) + " " + transport.name;
    try {
      PahoDevice sender(transport.uri, BenchClientId(server_, kSenderUser, transport.name));
      PahoDevice receiver(transport.uri, BenchClientId(server_, kReceiverUser, transport.name));
      // Chat: each device subscribes to its own topics, as a real one does (chat acks come anyway).
      std::string error = sender.Start(kSenderUser, chat_ ? core::UserTopic(kSenderUser, "#") : "");
      if (error.empty()) {
        error = receiver.Start(kReceiverUser, chat_ ? core::UserTopic(kReceiverUser, "#") : kBareTopic);
      }
      if (!error.empty()) return label + ": " + error;
      const std::string topic = chat_ ? core::RequestTopic(core::RequestOp::kSend) : kBareTopic;
      auto budget_end = Clock::now() + std::chrono::seconds(load_.seconds);
      for (int n = 0; n < load_.messages && (n == 0 || Clock::now() < budget_end); ++n) {
        ShowProgress(label + ": " + std::to_string(n) + "/" + std::to_string(load_.messages) + " delivered");
        if (error = SendOne(&sender, &receiver, topic, transport, n, deadline, latencies_ns); !error.empty()) {
          return label + ", message " + std::to_string(n) + ": " + error;
        }
      }
      return "";
    } catch (const mqtt::exception& e) {
      return label + ": " + e.what();
    }
  }

  // Sends message n and waits until the receiver has it (its latency added to `latencies_ns`) and the
  // sender its PUBACK and, chat, its chat ack; "" or the error.
  std::string SendOne(PahoDevice* sender, PahoDevice* receiver, const std::string& topic, const Transport& transport,
                      int n, Clock::time_point deadline, std::vector<std::int64_t>* latencies_ns) {
    std::int64_t sent_ns = NowNs();
    mqtt::delivery_token_ptr token = sender->Publish(topic, Payload(transport, sent_ns, n));
    if (std::string error = AwaitDelivery(receiver, sent_ns, deadline, latencies_ns); !error.empty()) return error;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (!token->wait_for(std::max(left, std::chrono::milliseconds(0)))) return "no PUBACK" + Within();
    return chat_ ? AwaitChatAck(sender, transport.cmid_prefix, n, deadline) : "";
  }

  // The stamp (kStampMarker and the send time), then Hangul up to kMessageChars characters. Chat: that
  // text in a send, its cmid "<prefix>0-<n>" as ReadSendReply reads it.
  std::string Payload(const Transport& transport, std::int64_t sent_ns, int n) const {
    char stamp[64];
    int stamp_chars = std::snprintf(stamp, sizeof(stamp), "%s%" PRId64 " n=%d ", kStampMarker, sent_ns, n);
    std::string text = stamp + hangul_.substr(0, 3 * (kMessageChars - static_cast<std::size_t>(stamp_chars)));
    if (!chat_) return text;
    return std::string(R"({"to":")") + kReceiverUser + R"(","text":")" + text + R"(","cmid":")" +
           transport.cmid_prefix + "0-" + std::to_string(n) + "\"}";
  }

  // Waits for the message stamped `sent_ns`; "" with its latency added, or the error.
  std::string AwaitDelivery(PahoDevice* receiver, std::int64_t sent_ns, Clock::time_point deadline,
                            std::vector<std::int64_t>* latencies_ns) const {
    while (mqtt::const_message_ptr message = receiver->Next(deadline)) {
      const mqtt::binary& payload = message->get_payload();
      const char* found = FindStamp(payload.data(), static_cast<int>(payload.size()));
      if (found == nullptr || std::strtoll(found + sizeof(kStampMarker) - 1, nullptr, 10) != sent_ns) continue;
      latencies_ns->push_back(NowNs() - sent_ns);
      return "";
    }
    return Interrupted() ? "interrupted" : "not delivered" + Within();
  }

  // Waits for the chat ack of send n; "" or the error (an error reply says why the send was refused).
  std::string AwaitChatAck(PahoDevice* sender, char cmid_prefix, int n, Clock::time_point deadline) const {
    while (mqtt::const_message_ptr message = sender->Next(deadline)) {
      const mqtt::binary& payload = message->get_payload();
      SendReply reply = ReadSendReply(payload.data(), static_cast<int>(payload.size()), cmid_prefix);
      if (reply.kind == SendReply::Kind::kError) return "send refused: " + payload;
      if (reply.kind == SendReply::Kind::kAck && reply.n == n) return "";
    }
    return Interrupted() ? "interrupted" : "no chat ack" + Within();
  }

  std::string Within() const { return " within " + std::to_string(context_.timeout_seconds) + " s"; }

  const LargeLoad& load_;
  bool chat_;
  Server server_;
  const SuiteContext& context_;
  std::string hangul_;  // kMessageChars of them: each text takes what its stamp leaves room for
};

Measurement RunLargeMessages(const LargeLoad& load, Server server, const SuiteContext& context) {
  ServerSetup setup;
  setup.users = {kSenderUser, kReceiverUser};
  return MeasureOnServer(server, setup, [&](const harness::BrokerProcess& broker) {
    return LargeRun(load, server, context).Run(broker);
  });
}

}  // namespace

// large, its option and target.
void AddLargeMessageScenarios(Suite& suite, CLI::App& app) {
  static LargeLoad load;  // the option below writes here; the scenario reads it when it runs
  app.add_option("--large-messages", load.messages, "large: 100,000-character messages per transport, at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--large-seconds", load.seconds,
                 "large: time budget per transport; no send starts after it (the first always does)")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));

  Scenario large{"large",
                 "100,000-character Hangul messages (~300 KB), one at a time, over MQTT/TCP and over WebSocket",
                 {{"tcp_latency_p50_ms", "ms", false},
                  {"tcp_latency_p99_ms", "ms", false},
                  {"ws_latency_p50_ms", "ms", false},
                  {"ws_latency_p99_ms", "ms", false},
                  {"ws_over_tcp_p50", "x", false},
                  {"tcp_messages", "msg", true},
                  {"ws_messages", "msg", true}},
                 nullptr,
                 nullptr};
  large.run = [](Server server, SuiteContext& context) {
    LargeLoad run = load;
    if (context.quick) {
      run.messages = std::min(run.messages, 5);
      run.seconds = std::min(run.seconds, 5);
    }
    return RunLargeMessages(run, server, context);
  };
  suite.Add(large);

  suite.AddTarget({"large", "ws_over_tcp_p50", Target::Kind::kChatAtMost, 2,
                   "300 KB messages over WebSocket: <= 2x their TCP latency"});
}

const ScenarioFile kLargeMessageScenarios(60, AddLargeMessageScenarios);

}  // namespace chat::bench
