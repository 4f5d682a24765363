// Runs the push-bridge binary for tests: writes its YAML, forks and execs it with its output in a log
// file, waits for its "ready:" line, and reads /metrics (harness/metrics_scrape.h). Every wait is bounded.
#include "tests/bridge/bridge_process.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/metrics_scrape.h"

namespace chat::harness {
namespace {

// YAML double-quoted scalar.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string PushBridgePath() { return PUSH_BRIDGE_PATH; }

PushBridgeProcess::PushBridgeProcess(PushBridgeOptions options)
    : ServerProcess("chat-push-bridge"), options_(std::move(options)) {
  if (options_.metrics) metrics_port_ = FreeLoopbackPort();
  WriteConfig();
}

std::string PushBridgeProcess::journal_path() const {
  return options_.journal_file.empty() ? dir() + "/journal" : options_.journal_file;
}

void PushBridgeProcess::WriteConfig() {
  std::ofstream(dir() + "/password") << options_.password << "\n";
  std::ofstream config(config_path());
  if (!options_.config_text.empty()) {
    config << options_.config_text;
    return;
  }
  config << "broker:\n"
         << "  host: 127.0.0.1\n"
         << "  port: " << options_.mqtt_port << "\n"
         << "  username: " << options_.username << "\n"
         << "  password_file: password\n"
         << "  device: " << options_.device << "\n"
         << "  keepalive_seconds: 10\n"
         << "  share_group: " << options_.share_group << "\n"
         << "providers:\n";
  for (const char* provider : {"fcm", "apns", "webhook"}) {
    config << "  " << provider << ":\n"
           << "    url: " << Quote(options_.provider_url + "/" + provider) << "\n"
           << "    timeout_ms: " << options_.timeout_ms << "\n";
    if (!options_.ca_file.empty()) config << "    ca_file: " << Quote(options_.ca_file) << "\n";
    if (!options_.headers.empty()) {
      config << "    headers:\n";
      for (const auto& [name, value] : options_.headers) config << "      " << name << ": " << Quote(value) << "\n";
    }
  }
  config << "retry:\n"
         << "  max_attempts: " << options_.max_attempts << "\n"
         << "  initial_backoff_ms: " << options_.initial_backoff_ms << "\n"
         << "  max_backoff_ms: " << options_.max_backoff_ms << "\n"
         << "journal_file: " << Quote(journal_path()) << "\n"
         << "lease_seconds: " << options_.lease_seconds << "\n"
         << "metrics:\n"
         << "  listen: 127.0.0.1\n"
         << "  port: " << metrics_port_ << "\n"
         << options_.extra_yaml << "\n";
}

std::string PushBridgeProcess::Start() {
  int ready_before = LogCount("push-bridge: ready:");
  return SpawnAndWait({PushBridgePath(), "--config", config_path()}, {}, "bridge.log", "push-bridge", "was not ready",
                      [&] { return LogCount("push-bridge: ready:") > ready_before; });
}

int PushBridgeProcess::LogCount(const std::string& text) const {
  std::string all = log();
  int count = 0;
  for (std::size_t at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++count;
  return count;
}

bool PushBridgeProcess::WaitForLog(const std::string& text, int count, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (LogCount(text) < count) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::map<std::string, double> PushBridgeProcess::Metrics() const { return ScrapeMetrics(metrics_port_); }

double PushBridgeProcess::Metric(const std::string& name) const {
  auto all = Metrics();
  auto it = all.find(name);
  return it == all.end() ? -1 : it->second;
}

}  // namespace chat::harness
