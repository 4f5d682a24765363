#include "core/server_metrics.h"

namespace chat::core {

const char* LoginResultName(LoginResult result) {
  switch (result) {
    case LoginResult::kOk: return "ok";
    case LoginResult::kWrongCredentials: return "wrong_credentials";
    case LoginResult::kChecking: return "checking";
    case LoginResult::kRefusedClient: return "refused_client";
    case LoginResult::kSessionLimit: return "session_limit";
    case LoginResult::kStorageError: return "storage_error";
  }
  return "unknown";
}

void ServerMetrics::Describe(MetricSamples& samples) const {
  for (std::size_t i = 0; i < kLoginResultCount; ++i) {
    samples.Add("chat_logins_total", "MQTT logins by result.", MetricType::kCounter,
                static_cast<double>(logins[i].value()), "result", LoginResultName(static_cast<LoginResult>(i)));
  }
  samples.Add("chat_connections", "Devices connected now.", MetricType::kGauge,
              static_cast<double>(connections.value()));
  for (std::size_t op = 1; op <= kRequestOpCount; ++op) {
    samples.Add("chat_requests_total", "Requests received, by type (accepted or not).", MetricType::kCounter,
                static_cast<double>(requests[op].value()), "request", RequestOpName(static_cast<RequestOp>(op)));
  }
  for (std::size_t code = 1; code < kErrorCodeCount; ++code) {
    samples.Add("chat_requests_rejected_total", "Requests answered with an error, by error code.",
                MetricType::kCounter, static_cast<double>(rejected[code].value()), "code",
                ErrorCodeName(static_cast<ErrorCode>(code)));
  }
  samples.Add("chat_messages_stored_total", "Messages stored, by conversation kind.", MetricType::kCounter,
              static_cast<double>(direct_messages.value()), "conversation", "direct");
  samples.Add("chat_messages_stored_total", "Messages stored, by conversation kind.", MetricType::kCounter,
              static_cast<double>(group_messages.value()), "conversation", "group");
  samples.Add("chat_deliveries_total", "Message events published to connected devices.", MetricType::kCounter,
              static_cast<double>(deliveries.value()));
  samples.Add("chat_presence_changes_total", "Users shown online or offline.", MetricType::kCounter,
              static_cast<double>(presence_online.value()), "state", "online");
  samples.Add("chat_presence_changes_total", "Users shown online or offline.", MetricType::kCounter,
              static_cast<double>(presence_offline.value()), "state", "offline");
  const char* push_help = "Push notification jobs: stored, offered to the bridge, reported done or failed.";
  samples.Add("chat_push_jobs_total", push_help, MetricType::kCounter, static_cast<double>(push_jobs_queued.value()),
              "stage", "queued");
  samples.Add("chat_push_jobs_total", push_help, MetricType::kCounter, static_cast<double>(push_jobs_offered.value()),
              "stage", "offered");
  samples.Add("chat_push_jobs_total", push_help, MetricType::kCounter, static_cast<double>(push_jobs_done.value()),
              "stage", "done");
  samples.Add("chat_push_jobs_total", push_help, MetricType::kCounter, static_cast<double>(push_jobs_failed.value()),
              "stage", "failed");
}

}  // namespace chat::core
