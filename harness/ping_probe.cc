#include "harness/ping_probe.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "clients/common/raw_mqtt_client.h"

namespace chat::harness {
namespace {

using clients::ConnectOutcome;
using clients::ConnectOutcomeName;
using clients::RawMqttClient;

constexpr auto kPingTimeout = std::chrono::seconds(30);

double Percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

std::string PingStats::ToString() const {
  char text[160];
  std::snprintf(text, sizeof(text), "n=%zu p50=%.2f ms p99=%.2f ms max=%.1f ms unanswered=%zu", count, p50_ms,
                p99_ms, max_ms, unanswered);
  return text;
}

std::string PingProbe::Start(int port, const std::string& user, const std::string& password,
                             std::chrono::milliseconds interval) {
  Stop();
  // Connect on this thread so a refused login is reported to the test at once.
  auto client = std::make_shared<RawMqttClient>();
  ConnectOutcome outcome;
  for (int attempt = 0; attempt < 50; ++attempt) {
    outcome = client->Connect(port, user + ":probe", user, password, true, 60);
    if (outcome.kind != ConnectOutcome::Kind::kClosed) break;  // closed: the login is being checked; retry
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (outcome.kind != ConnectOutcome::Kind::kAccepted) {
    return std::string("probe login: ") + ConnectOutcomeName(outcome.kind) + " " + std::to_string(outcome.code);
  }
  stop_ = false;
  thread_ = std::thread([this, client, interval] {
    while (!stop_) {
      auto rtt = client->Ping(kPingTimeout);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (rtt) {
          samples_ms_.push_back(static_cast<double>(rtt->count()) / 1000.0);
        } else {
          ++unanswered_;
        }
        ++finished_;
      }
      finished_one_.notify_all();
      if (!rtt && !client->open()) break;
      std::this_thread::sleep_for(interval);
    }
    client->Disconnect();
  });
  return "";
}

PingStats PingProbe::TakeStats() {
  std::vector<double> samples;
  PingStats stats;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (thread_.joinable() && !stop_) {
      std::size_t target = finished_ + 1;
      finished_one_.wait_for(lock, kPingTimeout + std::chrono::seconds(1), [&] { return finished_ >= target || stop_; });
    }
    samples.swap(samples_ms_);
    stats.unanswered = unanswered_;
    unanswered_ = 0;
  }
  std::sort(samples.begin(), samples.end());
  stats.count = samples.size();
  stats.p50_ms = Percentile(samples, 0.50);
  stats.p99_ms = Percentile(samples, 0.99);
  stats.max_ms = samples.empty() ? 0 : samples.back();
  return stats;
}

PingStats PingProbe::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return TakeStats();
}

}  // namespace chat::harness
