// The metric primitives and their two exports: Prometheus text and $SYS topics.
#include "core/metrics.h"

#include <gtest/gtest.h>

#include "core/server_metrics.h"

namespace chat::core {
namespace {

TEST(MetricsTest, CountersAndLabelledSamplesInPrometheusText) {
  Counter sent;
  sent.Add();
  sent.Add(2);
  Gauge connected;
  connected.Set(7);
  MetricSamples samples;
  samples.Add("chat_logins_total", "Logins.", MetricType::kCounter, 3, "result", "ok");
  samples.Add("chat_logins_total", "Logins.", MetricType::kCounter, 1, "result", "wrong_credentials");
  samples.Add("chat_sent_total", "Sent.", MetricType::kCounter, static_cast<double>(sent.value()));
  samples.Add("chat_connections", "Now.", MetricType::kGauge, static_cast<double>(connected.value()));
  EXPECT_EQ(FormatPrometheus(samples),
            "# HELP chat_logins_total Logins.\n"
            "# TYPE chat_logins_total counter\n"
            "chat_logins_total{result=\"ok\"} 3\n"
            "chat_logins_total{result=\"wrong_credentials\"} 1\n"
            "# HELP chat_sent_total Sent.\n"
            "# TYPE chat_sent_total counter\n"
            "chat_sent_total 3\n"
            "# HELP chat_connections Now.\n"
            "# TYPE chat_connections gauge\n"
            "chat_connections 7\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithBoundsInSeconds) {
  LatencyHistogram histogram;
  histogram.Observe(50);       // the first bucket includes its bound
  histogram.Observe(51);       // the next one
  histogram.Observe(9000);     // le 0.01
  histogram.Observe(6000000);  // above every bound
  MetricSamples samples;
  samples.AddHistogram("chat_commit_write_seconds", "Writes.", histogram);
  std::string text = FormatPrometheus(samples);
  EXPECT_NE(text.find("# TYPE chat_commit_write_seconds histogram\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_bucket{le=\"5e-05\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_bucket{le=\"0.0001\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_bucket{le=\"0.01\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_bucket{le=\"5\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_sum 6.009101\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_commit_write_seconds_count 4\n"), std::string::npos) << text;
}

TEST(MetricsTest, SysTopicsDropThePrefixAndTheTotalSuffix) {
  LatencyHistogram histogram;
  histogram.Observe(1500);
  MetricSamples samples;
  samples.Add("chat_logins_total", "Logins.", MetricType::kCounter, 3, "result", "ok");
  samples.Add("chat_connections", "Now.", MetricType::kGauge, 2);
  samples.AddHistogram("chat_commit_write_seconds", "Writes.", histogram);
  std::vector<SysTopicValue> topics = FormatSysTopics(samples, "$SYS/broker/chat");
  ASSERT_EQ(topics.size(), 4u);
  EXPECT_EQ(topics[0].topic, "$SYS/broker/chat/logins/ok");
  EXPECT_EQ(topics[0].value, "3");
  EXPECT_EQ(topics[1].topic, "$SYS/broker/chat/connections");
  EXPECT_EQ(topics[1].value, "2");
  EXPECT_EQ(topics[2].topic, "$SYS/broker/chat/commit_write_seconds/count");
  EXPECT_EQ(topics[2].value, "1");
  EXPECT_EQ(topics[3].topic, "$SYS/broker/chat/commit_write_seconds/sum_seconds");
  EXPECT_EQ(topics[3].value, "0.0015");
}

TEST(MetricsTest, ServerMetricsNameEveryLoginResultRequestAndErrorCode) {
  ServerMetrics metrics;
  metrics.CountLogin(LoginResult::kOk);
  metrics.CountLogin(LoginResult::kWrongCredentials);
  metrics.requests[static_cast<std::size_t>(RequestOp::kSend)].Add(3);
  metrics.CountRejected(ErrorCode::kTooLong);
  metrics.CountRejected(ErrorCode::kBusy);  // the last code has its row too
  MetricSamples samples;
  metrics.Describe(samples);
  std::string text = FormatPrometheus(samples);
  EXPECT_NE(text.find("chat_logins_total{result=\"ok\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_logins_total{result=\"wrong_credentials\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_logins_total{result=\"storage_error\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_requests_total{request=\"send\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_requests_rejected_total{code=\"too_long\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("chat_requests_rejected_total{code=\"busy\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("code=\"ok\""), std::string::npos) << "success is not a rejection";
}

}  // namespace
}  // namespace chat::core
