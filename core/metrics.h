// Counters, gauges and latency histograms that one thread writes and any thread reads, and the samples
// an exporter turns into Prometheus text or $SYS topics. Writing costs a relaxed load and store (no
// locked instruction, no lock): every metric here has exactly one writing thread, which is what makes
// the plain read-modify-write correct.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::core {

class Counter {
 public:
  // Only the metric's own writing thread may call Add.
  void Add(std::uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(std::int64_t value) { value_.store(value, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Durations in fixed buckets from 50 us to 5 s (Prometheus' cumulative `le` buckets are made when read).
class LatencyHistogram {
 public:
  static constexpr std::array<std::uint64_t, 12> kBoundsMicros = {50,    100,    250,    500,    1000,   2500,
                                                                  5000,  10000,  25000,  100000, 1000000, 5000000};
  void Observe(std::uint64_t micros);
  // Observations up to and including kBoundsMicros[i]; the last element counts those above every bound.
  std::array<std::uint64_t, kBoundsMicros.size() + 1> buckets() const;
  std::uint64_t count() const { return count_.value(); }
  std::uint64_t sum_micros() const { return sum_micros_.value(); }

 private:
  std::array<Counter, kBoundsMicros.size() + 1> buckets_;
  Counter count_;
  Counter sum_micros_;
};

enum class MetricType { kCounter, kGauge, kHistogram };

// One value of a metric family, with at most one label (all the server needs).
struct MetricSample {
  std::string family;  // chat_logins_total
  std::string help;
  MetricType type = MetricType::kCounter;
  std::string label;        // "" for none, else e.g. "result"
  std::string label_value;  // "ok"
  double value = 0;
  // kHistogram only: the cumulative buckets, sum and count are written from here instead of `value`.
  std::vector<std::uint64_t> buckets;
  double sum_seconds = 0;
  std::uint64_t count = 0;
};

class MetricSamples {
 public:
  void Add(std::string_view family, std::string_view help, MetricType type, double value,
           std::string_view label = {}, std::string_view label_value = {});
  void AddHistogram(std::string_view family, std::string_view help, const LatencyHistogram& histogram);
  const std::vector<MetricSample>& samples() const { return samples_; }

 private:
  std::vector<MetricSample> samples_;
};

// Prometheus text exposition format 0.0.4: samples of one family must be added one after another.
std::string FormatPrometheus(const MetricSamples& samples);

// The $SYS form for Mosquitto users: one topic per sample under `prefix` (no trailing slash), the family
// name without its "chat_" prefix and "_total" suffix, the label value as a last level:
// chat_logins_total{result="ok"} -> <prefix>/logins/ok. Histograms give <family>/count and /sum_seconds.
struct SysTopicValue {
  std::string topic;
  std::string value;
};
std::vector<SysTopicValue> FormatSysTopics(const MetricSamples& samples, std::string_view prefix);

}  // namespace chat::core
