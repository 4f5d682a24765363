// The bridge's counters and their Prometheus text form (served by metrics/metrics_http_server.h).
// Counters are atomics: the worker thread counts, the HTTP thread reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace chat::bridge {

struct Counters {
  std::atomic<std::uint64_t> sent{0};            // deliveries a provider accepted
  std::atomic<std::uint64_t> retried{0};         // attempts repeated after a retryable answer
  std::atomic<std::uint64_t> failed{0};          // deliveries given up (permanent answer or out of attempts)
  std::atomic<std::uint64_t> invalid_tokens{0};  // deliveries refused because the token is dead
  std::atomic<std::uint64_t> dropped{0};         // jobs left without a result (unreadable, queue full,
                                                 // out of time); the server offers them again
  std::atomic<std::uint64_t> jobs_received{0};
  std::atomic<std::uint64_t> jobs_completed{0};  // results published
  std::atomic<std::uint64_t> journal_hits{0};    // jobs answered from the journal, no provider contacted
  std::atomic<std::uint64_t> journal_errors{0};
  std::atomic<std::uint64_t> connected{0};  // 1 while connected and subscribed
  std::atomic<std::uint64_t> jobs_in_progress{0};
  std::atomic<std::uint64_t> journal_jobs{0};
};

// The counters in Prometheus text exposition format (version 0.0.4).
std::string FormatMetrics(const Counters& counters);

}  // namespace chat::bridge
