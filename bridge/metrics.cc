// Prometheus text for the bridge's counters and the loopback HTTP endpoint that serves it. Nothing but
// GET /metrics is served, and nothing secret is in it.
#include "bridge/metrics.h"

#include <httplib.h>

#include <chrono>
#include <sstream>

namespace chat::bridge {
namespace {

void Metric(std::ostringstream& out, const char* name, const char* type, const char* help, std::uint64_t value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n" << name << " " << value << "\n";
}

}  // namespace

std::string FormatMetrics(const Counters& c) {
  std::ostringstream out;
  Metric(out, "push_bridge_sent_total", "counter", "Deliveries a provider accepted.", c.sent);
  Metric(out, "push_bridge_retried_total", "counter", "Delivery attempts repeated after a retryable answer.",
         c.retried);
  Metric(out, "push_bridge_failed_total", "counter",
         "Deliveries given up (a permanent error, max_attempts used up, no such provider) and malformed jobs.",
         c.failed);
  Metric(out, "push_bridge_invalid_tokens_total", "counter", "Deliveries refused because the device token is dead.",
         c.invalid_tokens);
  Metric(out, "push_bridge_dropped_total", "counter",
         "Jobs left without a result (unreadable, queue full, lease running out); the server offers them again.",
         c.dropped);
  Metric(out, "push_bridge_jobs_received_total", "counter", "Jobs received from the broker.", c.jobs_received);
  Metric(out, "push_bridge_jobs_completed_total", "counter", "Job results published.", c.jobs_completed);
  Metric(out, "push_bridge_journal_hits_total", "counter",
         "Jobs answered from the journal without contacting a provider.", c.journal_hits);
  Metric(out, "push_bridge_journal_errors_total", "counter", "Journal writes that failed.", c.journal_errors);
  Metric(out, "push_bridge_connected", "gauge", "1 while connected to the broker and subscribed.", c.connected);
  Metric(out, "push_bridge_jobs_in_progress", "gauge", "Jobs waiting or being delivered.", c.jobs_in_progress);
  Metric(out, "push_bridge_journal_jobs", "gauge", "Jobs the journal remembers.", c.journal_jobs);
  return out.str();
}

MetricsServer::MetricsServer() = default;

MetricsServer::~MetricsServer() { Stop(); }

core::Status MetricsServer::Start(const std::string& address, int port, std::function<std::string()> render) {
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/metrics", [render](const httplib::Request&, httplib::Response& response) {
    response.set_content(render(), "text/plain; version=0.0.4");
  });
  if (!server_->bind_to_port(address.c_str(), port)) {
    server_.reset();
    return core::Status::Error(core::ErrorCode::kIoError,
                               "metrics: cannot listen on " + address + ":" + std::to_string(port));
  }
  finished_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    finished_ = true;
  });
  return core::Status::Ok();
}

void MetricsServer::Stop() {
  // httplib's stop() does nothing until the listening loop runs, so a stop right after Start would be
  // lost: repeat it until the loop is over.
  while (thread_.joinable() && !finished_) {
    server_->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace chat::bridge
