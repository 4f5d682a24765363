#include "core/metrics.h"

#include <cstdio>

namespace chat::core {
namespace {

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// Integers print as integers (most values are counts); anything else with enough digits to round-trip.
std::string Number(double value) {
  char text[32];
  if (value == static_cast<double>(static_cast<std::int64_t>(value))) {
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(value));
  } else {
    std::snprintf(text, sizeof text, "%.9g", value);
  }
  return text;
}

std::string Labels(const MetricSample& sample, std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string labels;
  auto add = [&labels](std::string_view name, std::string_view value) {
    labels += labels.empty() ? "{" : ",";
    labels.append(name).append("=\"").append(value).append("\"");
  };
  if (!sample.label.empty()) add(sample.label, sample.label_value);
  if (!extra_name.empty()) add(extra_name, extra_value);
  if (!labels.empty()) labels += "}";
  return labels;
}

std::string Seconds(std::uint64_t micros) { return Number(static_cast<double>(micros) / 1e6); }

}  // namespace

void LatencyHistogram::Observe(std::uint64_t micros) {
  std::size_t bucket = 0;
  while (bucket < kBoundsMicros.size() && micros > kBoundsMicros[bucket]) ++bucket;
  buckets_[bucket].Add();
  count_.Add();
  sum_micros_.Add(micros);
}

std::array<std::uint64_t, LatencyHistogram::kBoundsMicros.size() + 1> LatencyHistogram::buckets() const {
  std::array<std::uint64_t, kBoundsMicros.size() + 1> values{};
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = buckets_[i].value();
  return values;
}

void MetricSamples::Add(std::string_view family, std::string_view help, MetricType type, double value,
                        std::string_view label, std::string_view label_value) {
  MetricSample sample;
  sample.family = family;
  sample.help = help;
  sample.type = type;
  sample.label = label;
  sample.label_value = label_value;
  sample.value = value;
  samples_.push_back(std::move(sample));
}

void MetricSamples::AddHistogram(std::string_view family, std::string_view help, const LatencyHistogram& histogram) {
  MetricSample sample;
  sample.family = family;
  sample.help = help;
  sample.type = MetricType::kHistogram;
  auto buckets = histogram.buckets();
  sample.buckets.assign(buckets.begin(), buckets.end());
  // Read after the buckets, so the count is never below their sum by more than what arrived meanwhile.
  sample.count = histogram.count();
  sample.sum_seconds = static_cast<double>(histogram.sum_micros()) / 1e6;
  samples_.push_back(std::move(sample));
}

std::string FormatPrometheus(const MetricSamples& samples) {
  std::string out;
  const std::string* family = nullptr;
  for (const MetricSample& sample : samples.samples()) {
    if (family == nullptr || *family != sample.family) {
      out += "# HELP " + sample.family + " " + sample.help + "\n";
      out += "# TYPE " + sample.family + " " + TypeName(sample.type) + "\n";
      family = &sample.family;
    }
    if (sample.type != MetricType::kHistogram) {
      out += sample.family + Labels(sample) + " " + Number(sample.value) + "\n";
      continue;
    }
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < sample.buckets.size(); ++i) {
      cumulative += sample.buckets[i];
      std::string le = i < LatencyHistogram::kBoundsMicros.size() ? Seconds(LatencyHistogram::kBoundsMicros[i]) : "+Inf";
      out += sample.family + "_bucket" + Labels(sample, "le", le) + " " + Number(static_cast<double>(cumulative)) + "\n";
    }
    out += sample.family + "_sum" + Labels(sample) + " " + Number(sample.sum_seconds) + "\n";
    out += sample.family + "_count" + Labels(sample) + " " + Number(static_cast<double>(cumulative)) + "\n";
  }
  return out;
}

std::vector<SysTopicValue> FormatSysTopics(const MetricSamples& samples, std::string_view prefix) {
  std::vector<SysTopicValue> topics;
  for (const MetricSample& sample : samples.samples()) {
    std::string_view name = sample.family;
    if (name.substr(0, 5) == "chat_") name.remove_prefix(5);
    if (name.size() > 6 && name.substr(name.size() - 6) == "_total") name.remove_suffix(6);
    std::string topic = std::string(prefix) + "/" + std::string(name);
    if (!sample.label_value.empty()) topic += "/" + sample.label_value;
    if (sample.type == MetricType::kHistogram) {
      topics.push_back({topic + "/count", Number(static_cast<double>(sample.count))});
      topics.push_back({topic + "/sum_seconds", Number(sample.sum_seconds)});
    } else {
      topics.push_back({topic, Number(sample.value)});
    }
  }
  return topics;
}

}  // namespace chat::core
