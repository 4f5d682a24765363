#include "plugins/metrics_export.h"

namespace chat::plugin {

core::Status MetricsExport::Serve(const config::MetricsSettings& settings) {
  if (settings.port == 0) return core::Status::Ok();
  return http_.Start(settings.address, static_cast<int>(settings.port),
                     [this] { return core::FormatPrometheus(Snapshot()); });
}

core::MetricSamples MetricsExport::Snapshot() const {
  core::MetricSamples samples;
  chat_.metrics().Describe(samples);
  commits_.Describe(samples);
  store_.Describe(samples);
  return samples;
}

void MetricsExport::PublishSysTopics(std::int64_t now_ms, std::uint32_t interval_seconds, core::Outbox& outbox) {
  if (interval_seconds == 0) return;
  std::int64_t interval_ms = static_cast<std::int64_t>(interval_seconds) * 1000;
  if (next_sys_ms_ == 0) next_sys_ms_ = now_ms + interval_ms;  // the first after one interval, as Mosquitto's
  if (now_ms < next_sys_ms_) return;
  next_sys_ms_ = now_ms + interval_ms;
  for (core::SysTopicValue& topic : core::FormatSysTopics(Snapshot(), kSysTopicPrefix)) {
    outbox.Retained(std::move(topic.topic), std::move(topic.value));
  }
}

}  // namespace chat::plugin
