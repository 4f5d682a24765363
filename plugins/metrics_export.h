// MetricsExport: the plugin's metrics (the chat service's counters, the commit stage's, the store's
// size) gathered into one snapshot, served as Prometheus text from a thread of its own and published
// as retained $SYS/broker/chat/... topics from the broker thread, every metrics.sys_interval_seconds.
#pragma once

#include <cstdint>
#include <memory>

#include "config/server_config.h"
#include "core/chat_service.h"
#include "core/commit_stage.h"
#include "core/metrics.h"
#include "core/outbox.h"
#include "core/store.h"
#include "metrics/metrics_http_server.h"

namespace chat::plugin {

inline constexpr std::string_view kSysTopicPrefix = "$SYS/broker/chat";

class MetricsExport {
 public:
  // Borrows everything; all of it must outlive this (the HTTP thread reads it until Stop or destruction).
  MetricsExport(const core::ChatService& chat, const core::CommitStage& commits, core::Store& store)
      : chat_(chat), commits_(commits), store_(store) {}
  ~MetricsExport() { http_.Stop(); }

  // Serves GET /metrics on settings.address:port (nothing when the port is 0); kIoError when it cannot.
  core::Status Serve(const config::MetricsSettings& settings);
  core::MetricSamples Snapshot() const;
  // Publishes the $SYS topics when `interval_seconds` (0: never) passed since the last time; broker TICK.
  void PublishSysTopics(std::int64_t now_ms, std::uint32_t interval_seconds, core::Outbox& outbox);

 private:
  const core::ChatService& chat_;
  const core::CommitStage& commits_;
  core::Store& store_;
  metrics::MetricsHttpServer http_;
  std::int64_t next_sys_ms_ = 0;
};

}  // namespace chat::plugin
