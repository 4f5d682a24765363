// chat-soak: does the broker's memory stay flat under steady use? Starts the chat server (real
// Mosquitto, the plugin, RocksDB in a temporary folder), connects a device for each of many users and
// runs steady 1:1 traffic between contact pairs; every period (a minute by default) all devices drop
// and reconnect at once (a reconnect storm), each asking to sync from where it was. The broker's
// resident memory is sampled every few seconds and printed. Its level over the last period is compared
// with its level over the period right after the warm-up (by then RocksDB's write buffers and caches
// have filled): the mean of each period's samples, since the write buffers fill and empty within a
// period. Exit status 0 when the end is within --tolerance of the start (10 % by default), 1 when not,
// 2 when the run failed.
//
// What is measured is the plugin's own memory, so the default run gives RocksDB small budgets (8 MB
// write buffers, 8 MB block cache, 4 MB row cache) that fill within its 6-minute warm-up; at 2,000 msg/s
// the production budgets (64/64/32 MB) take about 20 minutes to fill (measured: the per-minute mean
// went 139, 155, 165 MB at minutes 5, 9 and 19, then stayed at 165-175 MB to minute 30), so a run with
// them needs 30 minutes (scripts/soak.sh).
//
//   build/clients/bench/chat-soak                      # 10 minutes, 6 of them warm-up, small budgets
//   build/clients/bench/chat-soak --minutes 30 --warmup-minutes 20 --production-budgets
//   build/clients/bench/chat-soak --minutes 3 --warmup-minutes 1 --out soak.json
#include <mosquitto.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "core/topic_format.h"
#include "harness/broker_process.h"

namespace chat::bench {
namespace {

using nlohmann::json;

constexpr char kPassword[] = "soak-password";
constexpr int kKeepaliveSeconds = 60;
constexpr int kConnectBatch = 100;  // Mosquitto's listen backlog
const std::string kSendTopic = core::RequestTopic(core::RequestOp::kSend);
const std::string kSyncTopic = core::RequestTopic(core::RequestOp::kSync);

struct SoakOptions {
  int minutes = 10;
  int warmup_minutes = 6;
  int users = 1000;
  int rate = 2000;            // messages per second, all devices together
  int storm_every_s = 60;     // every device drops and reconnects this often
  int sample_every_s = 5;
  double tolerance = 0.10;
  // RocksDB's memory budget (storage in chat.yaml); 0 (-1 for the row cache) keeps the server's
  // default. Small budgets fill within the warm-up, so what grows after it is the plugin's own.
  int write_buffer_mb = 8;
  int block_cache_mb = 8;
  int row_cache_mb = 4;
  std::string out = "soak-results.json";
};

struct Sample {
  double t_s = 0;
  double rss_mb = 0;
  std::int64_t sent = 0;
  std::int64_t acked = 0;
  std::int64_t received = 0;
};

struct Device {
  int index = 0;
  std::string user;
  std::string peer;
  mosquitto* client = nullptr;
  int connack = -1;
  bool ready = false;  // subscribed (and asked to sync)
  std::int64_t last_seq = 0;
  struct Soak* soak = nullptr;
};

struct Soak {
  SoakOptions options;
  std::vector<Device> devices;
  std::int64_t sent = 0;
  std::int64_t acked = 0;
  std::int64_t errors = 0;
  std::int64_t received = 0;
  std::string first_error;
};

std::string UserName(int i) {
  char name[16];
  std::snprintf(name, sizeof(name), "soak%05d", i);
  return name;
}

void OnConnect(mosquitto* client, void* data, int reason, int, const mosquitto_property*) {
  Device* device = static_cast<Device*>(data);
  device->connack = reason;
  if (reason == 0) mosquitto_subscribe_v5(client, nullptr, core::UserTopic(device->user, "#").c_str(), 1, 0, nullptr);
}

void OnSubscribe(mosquitto* client, void* data, int, int, const int*, const mosquitto_property*) {
  Device* device = static_cast<Device*>(data);
  device->ready = true;
  // A device back from a drop catches up from the last event it applied, as docs/PROTOCOL.md says.
  std::string payload = R"({"rid":"s","after":)" + std::to_string(device->last_seq) + R"(,"limit":100})";
  mosquitto_publish_v5(client, nullptr, kSyncTopic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false,
                       nullptr);
}

void OnMessage(mosquitto*, void* data, const mosquitto_message* message, const mosquitto_property*) {
  Device* device = static_cast<Device*>(data);
  Soak* soak = device->soak;
  const char* begin = static_cast<const char*>(message->payload);
  json event = json::parse(begin, begin + message->payloadlen, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) return;
  std::string type = event.value("type", "");
  if (type == "ack") {
    ++soak->acked;
  } else if (type == "error") {
    if (soak->errors++ == 0) soak->first_error = event.dump();
  } else if (type == "message") {
    ++soak->received;
  } else if (type == "sync") {
    for (const json& entry : event.value("events", json::array())) {
      device->last_seq = std::max(device->last_seq, entry.value("seq", std::int64_t{0}));
    }
    return;
  }
  device->last_seq = std::max(device->last_seq, event.value("seq", std::int64_t{0}));
}

double RssMb(const harness::BrokerProcess& broker) { return static_cast<double>(broker.Usage().rss_kb) / 1024; }

// Connects every device in batches the listen backlog takes; "" or the error.
std::string ConnectAll(Soak& soak, ClientPool& pool, int port, std::vector<mosquitto*>* clients) {
  clients->clear();
  auto deadline = Clock::now() + std::chrono::seconds(120);
  for (std::size_t first = 0; first < soak.devices.size(); first += kConnectBatch) {
    std::size_t end = std::min(soak.devices.size(), first + kConnectBatch);
    for (std::size_t i = first; i < end; ++i) {
      Device& device = soak.devices[i];
      device.connack = -1;
      device.ready = false;
      device.client = pool.New(device.user + ":phone", true, &device);
      if (device.client == nullptr) return "mosquitto_new failed";
      mosquitto_connect_v5_callback_set(device.client, OnConnect);
      mosquitto_subscribe_v5_callback_set(device.client, OnSubscribe);
      mosquitto_message_v5_callback_set(device.client, OnMessage);
      mosquitto_username_pw_set(device.client, device.user.c_str(), kPassword);
      if (int rc = mosquitto_connect(device.client, "127.0.0.1", port, kKeepaliveSeconds); rc != MOSQ_ERR_SUCCESS) {
        return device.user + ": " + mosquitto_strerror(rc);
      }
      clients->push_back(device.client);
    }
    std::string error = DriveClients(*clients, deadline, 120, [&] {
      for (std::size_t i = first; i < end; ++i) {
        if (!soak.devices[i].ready) return false;
      }
      return true;
    });
    if (!error.empty()) return "connecting: " + error;
  }
  return "";
}

int Run(const SoakOptions& options) {
  InstallSignalHandlers();
  if (std::string error = RaiseOpenFileLimit(options.users); !error.empty()) {
    std::fprintf(stderr, "chat-soak: %s\n", error.c_str());
    return 2;
  }
  harness::BrokerOptions broker_options;
  broker_options.extra_yaml =
      "limits:\n  send_rate_per_second: 100000\n  send_burst: 1000000\n"
      "  request_rate_per_second: 100000\n  request_burst: 1000000\n";
  std::string storage;
  if (options.write_buffer_mb > 0) storage += "  write_buffer_mb: " + std::to_string(options.write_buffer_mb) + "\n";
  if (options.block_cache_mb > 0) storage += "  block_cache_mb: " + std::to_string(options.block_cache_mb) + "\n";
  if (options.row_cache_mb >= 0) storage += "  row_cache_mb: " + std::to_string(options.row_cache_mb) + "\n";
  if (!storage.empty()) broker_options.extra_yaml += "storage:\n" + storage;
  broker_options.max_connections = options.users + 100;
  harness::BrokerProcess broker(broker_options);
  Soak soak;
  soak.options = options;
  std::vector<std::string> users;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < options.users; ++i) users.push_back(UserName(i));
  for (int i = 0; i + 1 < options.users; i += 2) pairs.emplace_back(users[i], users[i + 1]);
  std::string error = broker.AddUsersOffline(users, kPassword);
  if (error.empty()) error = broker.AddContactsOffline(pairs);
  if (error.empty()) error = broker.Start();
  if (!error.empty()) {
    std::fprintf(stderr, "chat-soak: %s\n", error.c_str());
    return 2;
  }
  soak.devices.resize(users.size());
  for (int i = 0; i < options.users; ++i) {
    Device& device = soak.devices[static_cast<std::size_t>(i)];
    device.index = i;
    device.user = users[static_cast<std::size_t>(i)];
    device.peer = users[static_cast<std::size_t>(i ^ 1) < users.size() ? static_cast<std::size_t>(i ^ 1) : 0];
    device.soak = &soak;
  }

  std::vector<Sample> samples;
  auto start = Clock::now();
  auto end = start + std::chrono::minutes(options.minutes);
  auto next_sample = start;

  std::int64_t due = 0;  // sends due by the clock so far
  std::printf("chat-soak: %d users, %d msg/s, a reconnect storm every %d s, %d minutes (%d warm-up)\n", options.users,
              options.rate, options.storm_every_s, options.minutes, options.warmup_minutes);
  std::printf("%8s %10s %12s %12s %12s\n", "t_s", "rss_mb", "sent", "acked", "received");
  auto sample = [&] {
    Sample s{std::chrono::duration<double>(Clock::now() - start).count(), RssMb(broker), soak.sent, soak.acked,
             soak.received};
    samples.push_back(s);
    std::printf("%8.0f %10.1f %12" PRId64 " %12" PRId64 " %12" PRId64 "\n", s.t_s, s.rss_mb, s.sent, s.acked, s.received);
    std::fflush(stdout);
  };
  while (Clock::now() < end && error.empty() && !Interrupted()) {
    ClientPool pool;
    std::vector<mosquitto*> clients;
    error = ConnectAll(soak, pool, broker.mqtt_port(), &clients);
    if (!error.empty()) break;
    auto period_end = std::min(end, Clock::now() + std::chrono::seconds(options.storm_every_s));
    std::size_t next_sender = 0;
    error = DriveClients(
        clients, period_end + std::chrono::seconds(5), options.storm_every_s + 5,
        [&] { return Clock::now() >= period_end; },
        [&] {
          auto now = Clock::now();
          due = static_cast<std::int64_t>(std::chrono::duration<double>(now - start).count() * options.rate);
          for (int burst = 0; soak.sent < due && burst < 1000; ++burst) {
            Device& device = soak.devices[next_sender++ % soak.devices.size()];
            std::string payload = R"({"to":")" + device.peer + R"(","text":"soak message )" + std::to_string(soak.sent) +
                                  R"(","cmid":"s)" + std::to_string(soak.sent) + "\"}";
            mosquitto_publish_v5(device.client, nullptr, kSendTopic.c_str(), static_cast<int>(payload.size()),
                                 payload.data(), 0, false, nullptr);
            ++soak.sent;
          }
          if (now >= next_sample) {
            sample();
            next_sample += std::chrono::seconds(options.sample_every_s);
          }
        },
        /*poll_ms=*/2);
    DisconnectAll(clients);
  }
  sample();
  // The mean of the samples in [from_s, to_s).
  auto level = [&](double from_s, double to_s) {
    double sum = 0;
    int count = 0;
    for (const Sample& s : samples) {
      if (s.t_s >= from_s && s.t_s < to_s) {
        sum += s.rss_mb;
        ++count;
      }
    }
    return count > 0 ? sum / count : 0.0;
  };
  double warmup_s = options.warmup_minutes * 60.0;
  double last_s = samples.back().t_s;
  double rss_after_warmup = level(warmup_s, warmup_s + options.storm_every_s);
  double rss_end = level(last_s - options.storm_every_s, last_s + 1);
  double growth = rss_after_warmup > 0 ? rss_end / rss_after_warmup - 1 : 0;
  bool within = growth <= options.tolerance;
  // A server that cannot keep up holds the backlog in the broker's queues: memory then measures the
  // overload, not the server. More than five seconds' worth unacknowledged at the end voids the run.
  std::int64_t backlog = soak.sent - soak.acked;
  if (error.empty() && backlog > static_cast<std::int64_t>(options.rate) * 5) {
    error = "the server fell behind: " + std::to_string(backlog) +
            " sends unacknowledged at the end, so its memory holds that backlog; lower --rate";
  }
  std::printf("broker RSS (mean over a period) after warm-up %.1f MB, at the end %.1f MB (%+.1f %%): %s; %" PRId64 " sent, %" PRId64
              " acked, %" PRId64 " errors%s%s\n",
              rss_after_warmup, rss_end, growth * 100, within ? "within tolerance" : "GREW", soak.sent, soak.acked,
              soak.errors, soak.first_error.empty() ? "" : ", the first: ", soak.first_error.c_str());
  json report = {{"options",
                  {{"minutes", options.minutes},
                   {"warmup_minutes", options.warmup_minutes},
                   {"users", options.users},
                   {"rate", options.rate},
                   {"storm_every_s", options.storm_every_s},
                   {"write_buffer_mb", options.write_buffer_mb},
                   {"block_cache_mb", options.block_cache_mb},
                   {"row_cache_mb", options.row_cache_mb}}},
                 {"rss_after_warmup_mb", rss_after_warmup},
                 {"rss_end_mb", rss_end},
                 {"growth", growth},
                 {"sent", soak.sent},
                 {"acked", soak.acked},
                 {"errors", soak.errors},
                 {"error", error}};
  for (const Sample& s : samples) {
    report["samples"].push_back(
        {{"t_s", s.t_s}, {"rss_mb", s.rss_mb}, {"sent", s.sent}, {"acked", s.acked}, {"received", s.received}});
  }
  std::ofstream(options.out) << report.dump(2) << "\n";
  std::printf("written to %s\n", options.out.c_str());
  if (!error.empty()) {
    std::fprintf(stderr, "chat-soak: %s\n", error.c_str());
    return 2;
  }
  return within ? 0 : 1;
}

}  // namespace
}  // namespace chat::bench

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a sample line as it is taken, also into a log file
  chat::bench::SoakOptions options;
  CLI::App app{"chat-soak: steady chat traffic with reconnect storms; the broker's memory over time"};
  app.add_option("--minutes", options.minutes, "how long it runs")->capture_default_str()->check(CLI::Range(1, 1440));
  app.add_option("--warmup-minutes", options.warmup_minutes, "memory is compared with its level after this")
      ->capture_default_str()
      ->check(CLI::Range(0, 1440));
  app.add_option("--users", options.users, "users, one device each, in contact pairs")
      ->capture_default_str()
      ->check(CLI::Range(2, 9000));
  app.add_option("--rate", options.rate, "messages per second, all devices together")
      ->capture_default_str()
      ->check(CLI::Range(1, 20000));
  app.add_option("--storm-every", options.storm_every_s, "seconds between reconnect storms")
      ->capture_default_str()
      ->check(CLI::Range(5, 3600));
  app.add_option("--tolerance", options.tolerance, "growth allowed after warm-up (0.10 = 10 %)")->capture_default_str();
  app.add_option("--out", options.out, "results file (JSON)")->capture_default_str();
  app.add_option("--write-buffer-mb", options.write_buffer_mb, "the broker's storage.write_buffer_mb (0: default)");
  app.add_option("--block-cache-mb", options.block_cache_mb, "the broker's storage.block_cache_mb (0: default)");
  app.add_option("--row-cache-mb", options.row_cache_mb, "the broker's storage.row_cache_mb (-1: default)");
  bool production_budgets = false;
  app.add_flag("--production-budgets", production_budgets,
               "the server's default storage budgets (they take ~20 minutes to fill at 2,000 msg/s)");
  CLI11_PARSE(app, argc, argv);
  if (production_budgets) {
    options.write_buffer_mb = 0;
    options.block_cache_mb = 0;
    options.row_cache_mb = -1;
  }
  if (options.warmup_minutes >= options.minutes) {
    std::fprintf(stderr, "chat-soak: the warm-up must be shorter than the run\n");
    return 2;
  }
  return chat::bench::Run(options);
}
