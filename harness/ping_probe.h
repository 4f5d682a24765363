// PingProbe: another client's view of the broker during an attack. A logged-in raw connection sends
// PINGREQ every few milliseconds from its own thread and records each round trip; PINGRESP comes from
// the broker's one event-loop thread, so a stall anywhere in the broker (or in the plugin) shows here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chat::harness {

struct PingStats {
  std::size_t count = 0;        // answered pings
  std::size_t unanswered = 0;   // no PINGRESP within the probe's timeout
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  std::string ToString() const;  // "n=812 p50=0.06 ms p99=0.31 ms max=1.2 ms unanswered=0"
};

class PingProbe {
 public:
  // Logs in as `user` (client id "<user>:probe") on 127.0.0.1:`port`; returns "" or the error.
  std::string Start(int port, const std::string& user, const std::string& password,
                    std::chrono::milliseconds interval = std::chrono::milliseconds(5));
  // Stops the thread and returns the figures since Start (or the last TakeStats).
  PingStats Stop();
  // The figures so far, including the ping in flight now (waited for); the samples are cleared.
  PingStats TakeStats();
  ~PingProbe() { Stop(); }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable finished_one_;
  std::size_t finished_ = 0;  // pings answered or given up on
  std::vector<double> samples_ms_;
  std::size_t unanswered_ = 0;
};

}  // namespace chat::harness
