// Prometheus text for the bridge's counters. Nothing secret is in it.
#include "bridge/metrics.h"

#include "core/metrics.h"

namespace chat::bridge {

std::string FormatMetrics(const Counters& c) {
  core::MetricSamples samples;
  auto add = [&samples](const char* name, core::MetricType type, const char* help, std::uint64_t value) {
    samples.Add(name, help, type, static_cast<double>(value));
  };
  constexpr core::MetricType kCounter = core::MetricType::kCounter;
  constexpr core::MetricType kGauge = core::MetricType::kGauge;
  add("push_bridge_sent_total", kCounter, "Deliveries a provider accepted.", c.sent);
  add("push_bridge_retried_total", kCounter, "Delivery attempts repeated after a retryable answer.", c.retried);
  add("push_bridge_failed_total", kCounter,
      "Deliveries given up (a permanent error, max_attempts used up, no such provider) and malformed jobs.",
      c.failed);
  add("push_bridge_invalid_tokens_total", kCounter, "Deliveries refused because the device token is dead.",
      c.invalid_tokens);
  add("push_bridge_dropped_total", kCounter,
      "Jobs left without a result (unreadable, queue full, lease running out); the server offers them again.",
      c.dropped);
  add("push_bridge_jobs_received_total", kCounter, "Jobs received from the broker.", c.jobs_received);
  add("push_bridge_jobs_completed_total", kCounter, "Job results published.", c.jobs_completed);
  add("push_bridge_journal_hits_total", kCounter, "Jobs answered from the journal without contacting a provider.",
      c.journal_hits);
  add("push_bridge_journal_errors_total", kCounter, "Journal writes that failed.", c.journal_errors);
  add("push_bridge_connected", kGauge, "1 while connected to the broker and subscribed.", c.connected);
  add("push_bridge_jobs_in_progress", kGauge, "Jobs waiting or being delivered.", c.jobs_in_progress);
  add("push_bridge_journal_jobs", kGauge, "Jobs the journal remembers.", c.journal_jobs);
  return core::FormatPrometheus(samples);
}

}  // namespace chat::bridge
