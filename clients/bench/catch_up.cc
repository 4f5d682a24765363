// Catching up on what was queued while offline. Every device first joins (connects, subscribes and, on
// the chat server, learns its queue position), goes offline, has messages queued for it by a few senders,
// then reconnects and catches up:
//   - chat server: 1:1 sends to the device's user, stored in RocksDB; the device subscribes to its own
//     topics and syncs from the last seq it applied, in pages (docs/PROTOCOL.md "Sync").
//   - bare Mosquitto: the device is a persistent session (clean start false, a session expiry) subscribed
//     to a topic of its own; the senders publish there at QoS 1 while it is offline and the broker
//     delivers what it queued for the session when it reconnects.
// Either way every device must get each of its messages once, each sender's in the order sent.
//
// "sync": one device catching up 10,000 messages. "storm": 2,000 devices reconnecting at once, each
// catching up a few, while a ping probe (another client) measures how long the broker keeps it waiting.
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/bench/suite.h"
#include "core/topic_format.h"
#include "harness/ping_probe.h"

namespace chat::bench {
namespace {

using nlohmann::json;

constexpr int kSenders = 4;      // clients that queue the messages, each for every device
constexpr int kSendWindow = 64;  // a sender's sends not yet acknowledged (bare: PUBACK; chat: chat ack)
constexpr int kTextBytes = 100;
constexpr int kKeepaliveSeconds = 60;
constexpr char kQueuedMarker[] = "queued n=";  // starts every queued text: "queued n=<n> xxx…"
constexpr char kCmidPrefix = 'q';
constexpr char kProbeUser[] = "probe";
const std::string kSendTopic = core::RequestTopic(core::RequestOp::kSend);
const std::string kSyncTopic = core::RequestTopic(core::RequestOp::kSync);

struct CatchUpLoad {
  int devices = 1;
  int messages = 10000;  // queued per device
  int page = 500;        // chat: the sync page limit (the server caps it at limits.max_sync_page, 500)
  // Connects in flight at once. Mosquitto listens with a backlog of 100; beyond it a SYN is dropped and
  // the blocking connect waits a second for its retry.
  int connect_batch = 100;
  bool ping_probe = false;  // measure another client's PINGREQ round trip while the devices catch up
};

std::string DeviceUser(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "dev%05d", i);
  return name;
}

std::string SenderUser(int i) { return "sender" + std::to_string(i); }

// The queued message number `n` of its device (sent by sender n % kSenders), padded to kTextBytes.
std::string QueuedText(std::int64_t n) {
  char text[kTextBytes + 1];
  int length = std::snprintf(text, sizeof(text), "%s%" PRId64 " ", kQueuedMarker, n);
  while (length < kTextBytes) text[length++] = 'x';
  return std::string(text, static_cast<std::size_t>(length));
}

// The number in a queued message's text, or -1.
std::int64_t QueuedNumber(std::string_view text) {
  constexpr std::size_t kMarkerLength = sizeof(kQueuedMarker) - 1;
  if (text.substr(0, kMarkerLength) != kQueuedMarker) return -1;
  std::int64_t n = -1;
  std::from_chars(text.data() + kMarkerLength, text.data() + text.size(), n);
  return n;
}

// A persistent session (clean start false) lasts this long after the connection ends (MQTT 5).
int ConnectPersistent(mosquitto* client, int port) {
  mosquitto_property* properties = nullptr;
  mosquitto_property_add_int32(&properties, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
  int rc = mosquitto_connect_bind_v5(client, "127.0.0.1", port, kKeepaliveSeconds, nullptr, properties);
  mosquitto_property_free_all(&properties);
  return rc;
}


// What one run saw while the devices caught up.
struct CatchUpOutcome {
  std::string error;
  std::int64_t reconnect_ns = 0;       // the first device's reconnect
  std::int64_t first_sync_ns = 0;      // chat: the first sync request of the catch-up
  std::int64_t last_caught_up_ns = 0;  // the last device to have every message; 0 unless all did
  int devices_caught_up = 0;
  std::int64_t received = 0;  // distinct queued messages, all devices
  std::int64_t duplicates = 0;
  std::int64_t out_of_order = 0;  // a sender's message after a later one of it (chat: also a seq gap)
  std::int64_t malformed = 0;     // not a message queued for that device
  harness::PingStats ping;
  double generator_cpu_s = 0;
  double broker_cpu_s = 0;
};

class CatchUpRun;

// One user's one device. Callbacks run on the one loop thread, so nothing needs synchronisation.
struct Device {
  CatchUpRun* run = nullptr;
  std::string user;
  std::string topic;  // chat: the filter of its own topics; bare: its queue topic, also where senders publish
  mosquitto* client = nullptr;
  int connack = -1;  // of the current connection; -1 until it arrives
  bool session_present = false;
  bool finished = false;  // joined, or done catching up (caught up or not)
  std::string error;
  // Chat: the protocol's sync state.
  std::int64_t cur_max_seq = 0;
  int pages = 0;
  std::string rid;
  // What arrived while catching up, by queued message number.
  std::vector<bool> seen;
  std::vector<std::int64_t> last_from_sender;  // the highest number applied, per sender
  std::int64_t received = 0;
  std::int64_t duplicates = 0;
  std::int64_t out_of_order = 0;
  std::int64_t malformed = 0;
  std::int64_t caught_up_ns = 0;  // when the last of its messages arrived; 0 before
};

// One of the clients that queue the messages while the devices are offline.
struct Sender {
  bool chat = false;
  int index = 0;
  mosquitto* client = nullptr;
  int connack = -1;
  std::int64_t count = 0;  // sends: every device's messages numbered index, index + kSenders, ...
  std::int64_t sent = 0;
  std::int64_t acked = 0;  // bare: PUBACKs; chat: chat acks and error replies
  std::int64_t rejected = 0;
  std::string first_refusal;
};

void OnSenderConnect(mosquitto*, void* data, int reason, int, const mosquitto_property*) {
  static_cast<Sender*>(data)->connack = reason;
}

// Bare: the PUBACK says queued. The chat server's only says it has the send: its chat ack says stored.
void OnSenderPublish(mosquitto*, void* data, int, int reason, const mosquitto_property*) {
  Sender* sender = static_cast<Sender*>(data);
  if (sender->chat) return;
  ++sender->acked;
  if (reason >= 0x80 && sender->rejected++ == 0) sender->first_refusal = "PUBACK " + std::to_string(reason);
}

void OnSenderMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
  Sender* sender = static_cast<Sender*>(data);
  SendReply reply = ReadSendReply(message->payload, message->payloadlen, kCmidPrefix);
  if (reply.kind == SendReply::Kind::kOther) return;
  ++sender->acked;
  if (reply.kind == SendReply::Kind::kError && sender->rejected++ == 0) {
    sender->first_refusal.assign(static_cast<const char*>(message->payload),
                                 static_cast<std::size_t>(message->payloadlen));
  }
}

class CatchUpRun {
 public:
  CatchUpRun(const CatchUpLoad& load, Server server, const SuiteContext& context, std::string label)
      : load_(load), server_(server), chat_(server == Server::kChat), context_(context), label_(std::move(label)) {}

  CatchUpOutcome Run(const harness::BrokerProcess& broker) {
    CatchUpOutcome outcome;
    deadline_ = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    port_ = broker.mqtt_port();
    outcome.error = Join();
    if (outcome.error.empty()) outcome.error = Queue();
    if (outcome.error.empty()) outcome.error = CatchUp(broker, &outcome);
    DisconnectAll(device_clients_);

    for (const Device& device : devices_) {
      if (outcome.error.empty()) outcome.error = device.error;
      outcome.received += device.received;
      outcome.duplicates += device.duplicates;
      outcome.out_of_order += device.out_of_order;
      outcome.malformed += device.malformed;
      if (device.caught_up_ns == 0) continue;
      ++outcome.devices_caught_up;
      outcome.last_caught_up_ns = std::max(outcome.last_caught_up_ns, device.caught_up_ns);
    }
    if (outcome.devices_caught_up < load_.devices) outcome.last_caught_up_ns = 0;
    outcome.first_sync_ns = first_sync_ns_;
    return outcome;
  }

 private:
  enum class Stage { kJoining, kCatchingUp };

  static void OnDeviceConnect(mosquitto*, void* data, int reason, int flags, const mosquitto_property*) {
    Device* device = static_cast<Device*>(data);
    device->connack = reason;
    device->session_present = (flags & 1) != 0;
    if (reason == 0) device->run->Connected(device);
  }

  static void OnDeviceSubscribe(mosquitto*, void* data, int, int count, const int* granted,
                                const mosquitto_property*) {
    Device* device = static_cast<Device*>(data);
    if (count < 1 || granted[0] >= 0x80) {
      device->run->Finish(device, "subscription to " + device->topic + " refused");
    } else if (device->run->chat_) {
      device->run->RequestSync(device);
    } else {
      device->run->Finish(device);  // joined: the session has its subscription
    }
  }

  static void OnDeviceMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
    Device* device = static_cast<Device*>(data);
    if (device->run->chat_) {
      device->run->TakeSyncReply(device, message);
    } else {
      std::string_view text(static_cast<const char*>(message->payload), static_cast<std::size_t>(message->payloadlen));
      device->run->Apply(device, text);
    }
  }

  void Connected(Device* device) {
    if (!chat_ && stage_ == Stage::kCatchingUp) {
      // Its subscription is in the session, and what was queued for it follows the CONNACK.
      if (!device->session_present) Finish(device, "the broker did not keep the session of " + device->user);
      return;
    }
    int rc = mosquitto_subscribe_v5(device->client, nullptr, device->topic.c_str(), 1, 0, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) Finish(device, std::string("subscribe: ") + mosquitto_strerror(rc));
  }

  // Chat: joining, asks for one entry after 0 to learn the queue's last seq (docs/PROTOCOL.md: a device
  // need not replay a queue it has no position in); catching up, the page after cur_max_seq.
  void RequestSync(Device* device) {
    bool joining = stage_ == Stage::kJoining;
    device->rid = (joining ? "j" : "c") + std::to_string(device->pages);
    char payload[128];
    int length = std::snprintf(payload, sizeof(payload), R"({"rid":"%s","after":%)" PRId64 R"(,"limit":%d})",
                               device->rid.c_str(), device->cur_max_seq, joining ? 1 : load_.page);
    if (!joining && first_sync_ns_ == 0) first_sync_ns_ = NowNs();
    int rc = mosquitto_publish_v5(device->client, nullptr, kSyncTopic.c_str(), length, payload, 1, false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) Finish(device, std::string("sync request: ") + mosquitto_strerror(rc));
  }

  // Chat: applies a sync page by the protocol's rules and asks for the next while "more". Live events are
  // not expected: every message was stored before the devices reconnected.
  void TakeSyncReply(Device* device, const mosquitto_message* message) {
    if (!std::string_view(message->topic).ends_with("/reply")) return;
    const char* begin = static_cast<const char*>(message->payload);
    json reply = json::parse(begin, begin + message->payloadlen, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object() || reply.value("rid", "") != device->rid) return;
    if (reply.value("type", "") != "sync" || !reply.contains("events") || !reply["events"].is_array()) {
      Finish(device, "sync failed: " + reply.dump());
      return;
    }
    if (stage_ == Stage::kJoining) {
      device->cur_max_seq = reply.value("last_seq", std::int64_t{0});
      Finish(device);
      return;
    }
    ++device->pages;
    for (const json& event : reply["events"]) {
      std::int64_t seq = event.value("seq", std::int64_t{-1});
      if (seq <= device->cur_max_seq) {
        ++device->duplicates;
        continue;
      }
      if (seq != device->cur_max_seq + 1) ++device->out_of_order;
      device->cur_max_seq = seq;
      if (event.value("type", "") == "message") Apply(device, event.value("text", ""));
    }
    if (reply.value("more", false)) {
      RequestSync(device);
    } else {
      Finish(device);
    }
  }

  // One queued message arrived at `device`.
  void Apply(Device* device, std::string_view text) {
    std::int64_t n = QueuedNumber(text);
    if (n < 0 || n >= load_.messages) {
      ++device->malformed;
      return;
    }
    if (device->seen[static_cast<std::size_t>(n)]) {
      ++device->duplicates;
      return;
    }
    device->seen[static_cast<std::size_t>(n)] = true;
    ++device->received;
    ++messages_received_;
    std::int64_t& last = device->last_from_sender[static_cast<std::size_t>(n % kSenders)];
    if (n < last) {
      ++device->out_of_order;
    } else {
      last = n;
    }
    if (device->received < load_.messages) return;
    device->caught_up_ns = NowNs();
    ++devices_caught_up_;
    if (!chat_) Finish(device);  // chat: at the end of the last page
  }

  void Finish(Device* device, std::string error = "") {
    if (device->finished) return;
    device->finished = true;
    device->error = std::move(error);
    ++devices_finished_;
  }

  // Starts `stage`: every device has yet to finish it.
  void Begin(Stage stage) {
    stage_ = stage;
    devices_finished_ = 0;
    for (Device& device : devices_) device.finished = false;
  }

  // The first device error, or "".
  std::string DeviceError() const {
    for (const Device& device : devices_) {
      if (!device.error.empty()) return device.user + ": " + device.error;
    }
    return "";
  }

  // Connects every device (bare: to its persistent session), in batches the broker's listen backlog takes;
  // those connected go on with their stage while the next batch connects.
  std::string ConnectDevices(const std::string& what) {
    std::size_t batch = static_cast<std::size_t>(load_.connect_batch);
    for (std::size_t first = 0; first < devices_.size(); first += batch) {
      std::size_t end = std::min(devices_.size(), first + batch);
      for (std::size_t i = first; i < end; ++i) {
        Device& device = devices_[i];
        device.connack = -1;
        int rc = chat_ ? mosquitto_connect(device.client, "127.0.0.1", port_, kKeepaliveSeconds)
                       : ConnectPersistent(device.client, port_);
        if (rc != MOSQ_ERR_SUCCESS) return what + " " + device.user + ": " + mosquitto_strerror(rc);
      }
      std::vector<mosquitto*> connecting(device_clients_.begin(),
                                         device_clients_.begin() + static_cast<std::ptrdiff_t>(end));
      std::string error = AwaitConnacks(
          connecting, deadline_, context_.timeout_seconds, [&](std::size_t i) { return devices_[i].connack; },
          [&](std::size_t i) {
            return "login refused for " + devices_[i].user + " (CONNACK " + std::to_string(devices_[i].connack) + ")";
          },
          what);
      if (!error.empty()) return error;
      ShowProgress(label_ + ": " + what + " " + std::to_string(end) + "/" + std::to_string(devices_.size()));
    }
    return "";
  }

  // Drives the devices until each has finished the stage; "" or the error.
  std::string AwaitDevices(const std::function<void()>& show_progress) {
    std::string error = DriveClients(device_clients_, deadline_, context_.timeout_seconds, [&] {
      show_progress();
      return devices_finished_ == devices_.size();
    });
    if (std::string device_error = DeviceError(); !device_error.empty()) return device_error;
    return error;
  }

  // Every device connects, subscribes (chat: and learns its queue position), then goes offline.
  std::string Join() {
    devices_.resize(static_cast<std::size_t>(load_.devices));
    for (int i = 0; i < load_.devices; ++i) {
      Device& device = devices_[static_cast<std::size_t>(i)];
      device.run = this;
      device.user = DeviceUser(i);
      device.topic = chat_ ? core::UserTopic(device.user, "#") : "bench/queue/" + device.user;
      device.seen.assign(static_cast<std::size_t>(load_.messages), false);
      device.last_from_sender.assign(kSenders, -1);
      // Chat: a clean session, as sync needs no more; bare: a persistent one, the only way to be queued for.
      device.client = clients_.New(BenchClientId(server_, device.user, "phone"), /*clean_session=*/chat_, &device);
      if (device.client == nullptr) return "mosquitto_new failed for " + device.user;
      mosquitto_connect_v5_callback_set(device.client, OnDeviceConnect);
      mosquitto_subscribe_v5_callback_set(device.client, OnDeviceSubscribe);
      mosquitto_message_v5_callback_set(device.client, OnDeviceMessage);
      mosquitto_username_pw_set(device.client, device.user.c_str(), kBenchPassword);
      device_clients_.push_back(device.client);
    }
    Begin(Stage::kJoining);
    std::string error = ConnectDevices("joining");
    if (error.empty()) {
      error = AwaitDevices([&] {
        ShowProgress(label_ + ": joined " + std::to_string(devices_finished_) + "/" + std::to_string(devices_.size()));
      });
    }
    if (!error.empty()) return "joining: " + error;
    DisconnectAll(device_clients_);
    // libmosquitto closes the socket once its DISCONNECT is written.
    error = DriveClients(device_clients_, deadline_, context_.timeout_seconds, [&] {
      return std::all_of(devices_.begin(), devices_.end(),
                         [](const Device& d) { return mosquitto_socket(d.client) < 0; });
    });
    if (!error.empty()) return "going offline: " + error;
    // Let the broker take the devices offline before anything is sent to them, so that all of it waits.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return "";
  }

  // The senders queue every device's messages and wait until each is acknowledged (bare: queued for the
  // session; chat: stored).
  std::string Queue() {
    senders_.resize(kSenders);
    std::vector<mosquitto*> clients;
    std::int64_t total = 0;
    for (int i = 0; i < kSenders; ++i) {
      Sender& sender = senders_[static_cast<std::size_t>(i)];
      sender.chat = chat_;
      sender.index = i;
      sender.count = static_cast<std::int64_t>(load_.devices) * ((load_.messages - i + kSenders - 1) / kSenders);
      total += sender.count;
      std::string user = SenderUser(i);
      sender.client = clients_.New(BenchClientId(server_, user), true, &sender);
      if (sender.client == nullptr) return "mosquitto_new failed for " + user;
      mosquitto_connect_v5_callback_set(sender.client, OnSenderConnect);
      mosquitto_publish_v5_callback_set(sender.client, OnSenderPublish);
      mosquitto_message_v5_callback_set(sender.client, OnSenderMessage);  // chat acks need no subscription
      mosquitto_username_pw_set(sender.client, user.c_str(), kBenchPassword);
      if (int rc = mosquitto_connect(sender.client, "127.0.0.1", port_, kKeepaliveSeconds); rc != MOSQ_ERR_SUCCESS) {
        return "connect " + user + ": " + mosquitto_strerror(rc);
      }
      clients.push_back(sender.client);
    }
    std::string error = AwaitConnacks(
        clients, deadline_, context_.timeout_seconds, [&](std::size_t i) { return senders_[i].connack; },
        [&](std::size_t i) {
          return "login refused for " + SenderUser(static_cast<int>(i)) + " (CONNACK " +
                 std::to_string(senders_[i].connack) + ")";
        },
        "connecting senders");
    if (!error.empty()) return error;
    error = DriveClients(
        clients, deadline_, context_.timeout_seconds,
        [&] {
          std::int64_t acked = 0;
          for (const Sender& sender : senders_) acked += sender.acked;
          ShowProgress(label_ + ": queued " + std::to_string(acked) + "/" + std::to_string(total));
          return acked == total;
        },
        [&] {
          for (Sender& sender : senders_) TopUp(&sender);
        });
    DisconnectAll(clients);
    if (!error.empty()) return "queueing: " + error;
    for (const Sender& sender : senders_) {
      if (sender.rejected > 0) {
        return std::to_string(sender.rejected) + " sends of " + SenderUser(sender.index) +
               " refused while queueing, the first: " + sender.first_refusal;
      }
    }
    return "";
  }

  // Sends while the window allows. A sender's k-th send is message index + kSenders * (k / devices) of
  // device k % devices: every device's messages are spread over the whole queueing.
  void TopUp(Sender* sender) {
    char payload[512];
    while (sender->sent < sender->count && sender->sent - sender->acked < kSendWindow) {
      std::int64_t n = sender->index + kSenders * (sender->sent / load_.devices);
      const Device& device = devices_[static_cast<std::size_t>(sender->sent % load_.devices)];
      std::string text = QueuedText(n);
      const char* topic = device.topic.c_str();
      const char* body = text.c_str();
      int length = static_cast<int>(text.size());
      if (chat_) {
        length = std::snprintf(payload, sizeof(payload), R"({"to":"%s","text":"%s","cmid":"%c%d-%)" PRId64 "\"}",
                               device.user.c_str(), text.c_str(), kCmidPrefix, sender->index, sender->sent);
        topic = kSendTopic.c_str();
        body = payload;
      }
      int rc = mosquitto_publish_v5(sender->client, nullptr, topic, length, body, 1, false, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) return;  // a lost connection shows up in the read path
      ++sender->sent;
    }
  }

  // Every device reconnects, as fast as the broker takes the connections, and catches up; the ping probe
  // runs meanwhile.
  std::string CatchUp(const harness::BrokerProcess& broker, CatchUpOutcome* outcome) {
    harness::PingProbe probe;
    if (load_.ping_probe) {
      if (std::string error = probe.Start(port_, kProbeUser, kBenchPassword); !error.empty()) return error;
    }
    Begin(Stage::kCatchingUp);
    std::int64_t total = static_cast<std::int64_t>(load_.devices) * load_.messages;
    double generator_before = CpuSeconds(RUSAGE_SELF);
    BrokerCpu broker_before = ReadBrokerCpu(broker);
    outcome->reconnect_ns = NowNs();
    std::string error = ConnectDevices("reconnecting");
    if (error.empty()) {
      error = AwaitDevices([&] {
        ShowProgress(label_ + ": caught up " + std::to_string(devices_caught_up_) + "/" +
                     std::to_string(devices_.size()) + " devices, " + std::to_string(messages_received_) + "/" +
                     std::to_string(total) + " messages");
      });
    }
    outcome->generator_cpu_s = CpuSeconds(RUSAGE_SELF) - generator_before;
    outcome->broker_cpu_s = ReadBrokerCpu(broker).process_s - broker_before.process_s;
    if (!error.empty()) return "catching up: " + error;
    if (load_.ping_probe) {
      outcome->ping = probe.Stop();
      if (outcome->ping.count == 0 || outcome->ping.unanswered > 0) return "ping probe: " + outcome->ping.ToString();
    }
    return "";
  }

  const CatchUpLoad& load_;
  Server server_;
  bool chat_;
  const SuiteContext& context_;
  std::string label_;
  Clock::time_point deadline_;
  int port_ = 0;
  Stage stage_ = Stage::kJoining;
  std::size_t devices_finished_ = 0;  // in the current stage
  std::size_t devices_caught_up_ = 0;
  std::int64_t messages_received_ = 0;  // distinct, all devices
  std::int64_t first_sync_ns_ = 0;
  std::vector<Device> devices_;
  std::vector<mosquitto*> device_clients_;  // devices_[i].client, for the loop
  std::vector<Sender> senders_;
  ClientPool clients_;  // last: its clients go before the state their callbacks use
};

ServerSetup CatchUpSetup(const CatchUpLoad& load, Server server) {
  ServerSetup setup;
  for (int i = 0; i < load.devices; ++i) setup.users.push_back(DeviceUser(i));
  for (int i = 0; i < kSenders; ++i) setup.users.push_back(SenderUser(i));
  if (load.ping_probe) setup.users.push_back(kProbeUser);
  // Bare Mosquitto drops what an offline session is sent beyond max_queued_messages (1000 in the
  // project's template) and max_queued_bytes: no bound for it here (0), the scenario's counts bound it.
  // The chat server keeps the template's limits: its queues are in RocksDB, and a sync page is one
  // message to the device.
  if (server == Server::kBare) setup.mosquitto_conf = "max_queued_messages 0\nmax_queued_bytes 0\n";
  return setup;
}

double Seconds(std::int64_t from_ns, std::int64_t to_ns) { return static_cast<double>(to_ns - from_ns) / 1e9; }

// sync: the chat device's catch-up runs from its first sync request; bare Mosquitto's, which needs no
// request, from the reconnect. Times only when the device got everything.
void SetSyncFigures(Server server, const CatchUpOutcome& outcome, Measurement* m) {
  if (outcome.last_caught_up_ns > 0) {
    std::int64_t start_ns = server == Server::kChat ? outcome.first_sync_ns : outcome.reconnect_ns;
    double catch_up_s = Seconds(start_ns, outcome.last_caught_up_ns);
    m->Set("catch_up_s", catch_up_s);
    m->Set("connect_to_done_s", Seconds(outcome.reconnect_ns, outcome.last_caught_up_ns));
    m->Set("messages_per_s", catch_up_s > 0 ? static_cast<double>(outcome.received) / catch_up_s : 0);
  }
  m->Set("duplicates", static_cast<double>(outcome.duplicates));
  m->Set("out_of_order", static_cast<double>(outcome.out_of_order));
}

void SetStormFigures(Server, const CatchUpOutcome& outcome, Measurement* m) {
  if (outcome.last_caught_up_ns > 0) {
    m->Set("all_caught_up_s", Seconds(outcome.reconnect_ns, outcome.last_caught_up_ns));
  }
  if (outcome.ping.count > 0) {
    m->Set("ping_p50_ms", outcome.ping.p50_ms);
    m->Set("ping_p99_ms", outcome.ping.p99_ms);
    m->Set("ping_max_ms", outcome.ping.max_ms);
  }
  m->Set("devices_caught_up", outcome.devices_caught_up);
}

// Starts `server` for `load`, runs it once and fills the measurement: completed when every device got
// each of its messages once and in order; `set_figures` adds the scenario's figures.
Measurement RunCatchUp(const CatchUpLoad& load, Server server, const SuiteContext& context, const std::string& label,
                       void (*set_figures)(Server, const CatchUpOutcome&, Measurement*)) {
  if (std::string error = RaiseOpenFileLimit(load.devices); !error.empty()) {
    Measurement failed;
    failed.error = error;
    return failed;
  }
  return MeasureOnServer(server, CatchUpSetup(load, server), [&](const harness::BrokerProcess& broker) {
    Measurement result;
    CatchUpOutcome outcome = CatchUpRun(load, server, context, label).Run(broker);
    result.error = outcome.error;
    result.generator_cpu_s = outcome.generator_cpu_s;
    result.broker_cpu_s = outcome.broker_cpu_s;
    std::int64_t expected = static_cast<std::int64_t>(load.devices) * load.messages;
    result.completed = result.error.empty() && outcome.devices_caught_up == load.devices && outcome.duplicates == 0 &&
                       outcome.out_of_order == 0 && outcome.malformed == 0;
    if (!result.completed) {
      // What arrived says how far it got (bare Mosquitto shows lost messages only as a time-out).
      if (!result.error.empty()) result.error += "; ";
      result.error += std::to_string(outcome.devices_caught_up) + "/" + std::to_string(load.devices) +
                      " devices caught up, " + std::to_string(outcome.received) + "/" + std::to_string(expected) +
                      " messages, " + std::to_string(outcome.duplicates) + " duplicates, " +
                      std::to_string(outcome.out_of_order) + " out of order, " + std::to_string(outcome.malformed) +
                      " malformed";
    }
    set_figures(server, outcome, &result);
    return result;
  });
}

}  // namespace

// sync and storm, their options and targets.
void AddCatchUpScenarios(Suite& suite, CLI::App& app) {
  static CatchUpLoad sync_load;  // the options below write here; the scenarios read it when they run
  static CatchUpLoad storm_load{.devices = 2000, .messages = 5, .ping_probe = true};
  app.add_option("--sync-messages", sync_load.messages, "sync: messages queued for the offline device")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--sync-page", sync_load.page, "sync, chat: sync page limit (the server caps it at 500)")
      ->capture_default_str()
      ->check(CLI::Range(1, 500));
  app.add_option("--storm-devices", storm_load.devices, "storm: devices reconnecting at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 9000));  // under max_connections (10,000) with the senders and the probe
  app.add_option("--storm-messages", storm_load.messages, "storm: messages queued per device")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--storm-connect-batch", storm_load.connect_batch,
                 "storm: connects in flight at once (Mosquitto's listen backlog is 100)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));

  Scenario sync{"sync",
                "one device catches up on queued messages (chat: sync pages, timed from the first request; bare: "
                "a persistent session's queued QoS 1 messages, from the reconnect)",
                {{"catch_up_s", "s", false},
                 {"connect_to_done_s", "s", false},
                 {"messages_per_s", "msg/s", true},
                 {"duplicates", "msg", false},
                 {"out_of_order", "msg", false}},
                nullptr,
                nullptr};
  sync.run = [](Server server, SuiteContext& context) {
    CatchUpLoad load = sync_load;
    if (context.quick) load.messages = std::min(load.messages, 200);
    return RunCatchUp(load, server, context, "sync " + std::string(ServerName(server)), SetSyncFigures);
  };
  suite.Add(sync);

  Scenario storm{"storm",
                 "reconnect storm: devices offline with a few messages queued each all reconnect at once and catch "
                 "up (chat: subscribe and sync; bare: persistent sessions); another client pings the broker",
                 {{"all_caught_up_s", "s", false},
                  {"ping_p50_ms", "ms", false},
                  {"ping_p99_ms", "ms", false},
                  {"ping_max_ms", "ms", false},
                  {"devices_caught_up", "device", true}},
                 nullptr,
                 nullptr};
  storm.run = [](Server server, SuiteContext& context) {
    CatchUpLoad load = storm_load;
    if (context.quick) load.devices = std::min(load.devices, 50);
    return RunCatchUp(load, server, context, "storm " + std::string(ServerName(server)), SetStormFigures);
  };
  suite.Add(storm);

  using K = Target::Kind;
  suite.AddTarget({"sync", "catch_up_s", K::kChatAtMost, 1.0, "sync 10,000 queued: < 1 s"});
  suite.AddTarget({"storm", "ping_p99_ms", K::kChatAtMost, 50,
                   "reconnect storm of 2,000 devices: all caught up, broker ping p99 <= 50 ms"});
}

const ScenarioFile kCatchUpScenarios(40, AddCatchUpScenarios);

}  // namespace chat::bench
