// push-bridge: delivers the chat server's push jobs to push providers.
//   push-bridge --config config/bridge.yaml
// Runs until SIGINT or SIGTERM; keeps retrying the broker until it can connect and subscribe.
#include <CLI/CLI.hpp>
#include <curl/curl.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <string>

#include "bridge/bridge_config.h"
#include "bridge/push_bridge.h"
#include "core/clock.h"

namespace {

// Waits up to `timeout` for SIGINT or SIGTERM (blocked in every thread, see main); true if one came.
bool WaitForStopSignal(const sigset_t& signals, std::chrono::milliseconds timeout) {
  timespec wait{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000000L};
  while (true) {
    int signal = sigtimedwait(&signals, nullptr, &wait);
    if (signal == SIGINT || signal == SIGTERM) return true;
    if (signal < 0 && errno == EINTR) continue;
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file = "config/bridge.yaml";
  CLI::App app{"push-bridge: delivers the chat server's push jobs to FCM, APNs or a webhook"};
  app.add_option("--config", config_file, "YAML config (see config/bridge.yaml)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  chat::bridge::BridgeConfig config;
  if (chat::core::Status s = chat::bridge::LoadBridgeConfig(config_file, &config); !s.ok()) {
    std::cerr << "push-bridge: bad config: " << s.message() << "\n";
    return 2;
  }

  // Before any thread exists: curl's global set-up is not thread-safe, and every thread inherits the
  // signal mask, so SIGINT/SIGTERM reach only sigtimedwait below. A provider closing its socket must not
  // kill the process (SIGPIPE).
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::cerr << "push-bridge: curl_global_init failed\n";
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  int status = 0;
  {
    // The real time and randomness, injected here so that tests can give the bridge their own.
    chat::core::SystemClock clock;
    std::mt19937_64 generator(std::random_device{}());
    chat::bridge::PushBridge bridge(config, clock, [&generator] { return generator(); });
    if (chat::core::Status s = bridge.Start(); !s.ok()) {
      chat::bridge::LogLine("cannot start: " + s.message());
      status = 1;
    } else {
      bool stop = false;
      auto retry = std::chrono::milliseconds(1000);
      for (chat::core::Status s = bridge.Connect(); !s.ok() && !stop; s = bridge.Connect()) {
        chat::bridge::LogLine(s.message() + "; retrying in " + std::to_string(retry.count() / 1000) + " s");
        stop = WaitForStopSignal(stop_signals, retry);
        retry = std::min<std::chrono::milliseconds>(retry * 2, std::chrono::seconds(30));
      }
      while (!stop) stop = WaitForStopSignal(stop_signals, std::chrono::hours(1));
      chat::bridge::LogLine("stopping on signal");
      bridge.Stop();
    }
  }
  curl_global_cleanup();
  return status;
}
