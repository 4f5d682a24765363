// PushBridgeProcess: the built push-bridge binary run by a test (fork/exec) with a generated config, in a
// temporary folder; started, restarted, stopped (SIGTERM) or killed (SIGKILL); its log and metrics read.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>

#include "harness/server_process.h"

namespace chat::harness {

struct PushBridgeOptions {
  int mqtt_port = 0;  // required: the broker's port on 127.0.0.1
  std::string username = "push";
  std::string password = "push-pw";
  std::string device = "bridge-1";
  std::string share_group = "push-bridge";
  // Every provider (fcm, apns, webhook) is configured to POST to provider_url + "/<provider>".
  std::string provider_url;
  std::string ca_file;
  std::map<std::string, std::string> headers = {{"Authorization", "Bearer test-credential"}};
  int timeout_ms = 2000;
  int max_attempts = 3;
  int initial_backoff_ms = 50;
  int max_backoff_ms = 200;
  int lease_seconds = 60;
  std::string journal_file;  // "" = "journal" in the process's folder; give two instances one path to share it
  bool metrics = true;       // serve /metrics on a free loopback port
  std::string extra_yaml;    // appended to the generated config
  std::string config_text;   // when set, written as the config instead of the generated one
};

// Stop() (SIGTERM and wait 10 s, then SIGKILL; the exit status, 128 + signal when killed by one), Kill()
// (SIGKILL: nothing runs, as in a crash), running(), dir() and log() come from ServerProcess; destroying
// it kills a running bridge and removes the folder.
class PushBridgeProcess : public ServerProcess {
 public:
  explicit PushBridgeProcess(PushBridgeOptions options);

  // Starts the bridge and waits (bounded, 20 s) until it has logged "ready:" (connected and
  // subscribed). Returns "" or an error with its log (a bad config exits at once with status 2).
  std::string Start();

  // Times `text` occurs in the log.
  int LogCount(const std::string& text) const;
  // Waits (bounded) until `text` occurs at least `count` times in the log.
  bool WaitForLog(const std::string& text, int count = 1,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // GET /metrics parsed into name -> value; empty when it cannot be read.
  std::map<std::string, double> Metrics() const;
  // One metric, -1 when it cannot be read.
  double Metric(const std::string& name) const;

  std::string config_path() const { return dir() + "/bridge.yaml"; }
  std::string journal_path() const;
  int metrics_port() const { return metrics_port_; }

 private:
  void WriteConfig();

  PushBridgeOptions options_;
  int metrics_port_ = 0;
};

// Path of the built push-bridge binary (set by CMake).
std::string PushBridgePath();

}  // namespace chat::harness
