// Tests of ProviderClient: how answers are classified, and real HTTPS POSTs to the fake provider (TLS
// verified against its self-signed certificate, headers, timeouts, Retry-After, cancellation).
#include "bridge/provider_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/bridge/fake_provider.h"

namespace chat::bridge {
namespace {

using harness::FakeProvider;
using harness::ProviderStep;

TEST(ClassifyResponseTest, FollowsTheRules) {
  EXPECT_EQ(ClassifyResponse(200, ""), DeliveryOutcome::kAccepted);
  EXPECT_EQ(ClassifyResponse(201, ""), DeliveryOutcome::kAccepted);
  EXPECT_EQ(ClassifyResponse(204, ""), DeliveryOutcome::kAccepted);
  // A 2xx is accepted whatever its body says.
  EXPECT_EQ(ClassifyResponse(200, R"({"error":"invalid_token"})"), DeliveryOutcome::kAccepted);

  EXPECT_EQ(ClassifyResponse(404, ""), DeliveryOutcome::kInvalidToken);
  EXPECT_EQ(ClassifyResponse(410, ""), DeliveryOutcome::kInvalidToken);
  EXPECT_EQ(ClassifyResponse(400, R"({"reason":"BadDeviceToken"})"), DeliveryOutcome::kInvalidToken);
  EXPECT_EQ(ClassifyResponse(400, R"({"reason":"Unregistered"})"), DeliveryOutcome::kInvalidToken);
  EXPECT_EQ(ClassifyResponse(400, R"({"error":{"status":"UNREGISTERED"}})"), DeliveryOutcome::kInvalidToken);
  EXPECT_EQ(ClassifyResponse(400, R"({"error":"invalid_token"})"), DeliveryOutcome::kInvalidToken);

  EXPECT_EQ(ClassifyResponse(500, ""), DeliveryOutcome::kRetryable);
  EXPECT_EQ(ClassifyResponse(502, ""), DeliveryOutcome::kRetryable);
  EXPECT_EQ(ClassifyResponse(503, R"({"error":"invalid_token"})"), DeliveryOutcome::kRetryable);
  EXPECT_EQ(ClassifyResponse(429, ""), DeliveryOutcome::kRetryable);

  EXPECT_EQ(ClassifyResponse(400, R"({"error":"bad payload"})"), DeliveryOutcome::kPermanent);
  EXPECT_EQ(ClassifyResponse(413, ""), DeliveryOutcome::kPermanent);
  EXPECT_EQ(ClassifyResponse(301, ""), DeliveryOutcome::kPermanent);
  // The bridge's own credential is bad: not the device's token.
  EXPECT_EQ(ClassifyResponse(401, R"({"error":"invalid_token"})"), DeliveryOutcome::kPermanent);
  EXPECT_EQ(ClassifyResponse(403, R"({"error":"invalid_token"})"), DeliveryOutcome::kPermanent);
}

class ProviderClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override { ASSERT_EQ(provider_.Start(), ""); }

  ProviderConfig Config(int timeout_ms = 2000) {
    ProviderConfig config;
    config.url = provider_.url("/fcm");
    config.headers = {{"Authorization", "Bearer t0ken"}, {"X-Tenant", "chat"}};
    config.timeout_ms = timeout_ms;
    config.ca_file = provider_.ca_file();
    return config;
  }

  FakeProvider provider_;
  core::SystemClock clock_;
};

TEST_F(ProviderClientTest, PostsJsonWithHeadersOverVerifiedTls) {
  ProviderClient client(Config(), clock_);
  DeliveryResult result = client.Post(R"({"token":"abc"})", "42-phone");
  EXPECT_EQ(result.outcome, DeliveryOutcome::kAccepted) << result.detail;
  EXPECT_EQ(result.http_status, 200);
  auto requests = provider_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/fcm");
  EXPECT_EQ(requests[0].body, R"({"token":"abc"})");
  EXPECT_EQ(requests[0].header("content-type"), "application/json");
  EXPECT_EQ(requests[0].header("idempotency-key"), "42-phone");
  EXPECT_EQ(requests[0].header("authorization"), "Bearer t0ken");
  EXPECT_EQ(requests[0].header("x-tenant"), "chat");

  // The same handle again (the connection is kept).
  provider_.Script({{410}});
  result = client.Post(R"({"token":"abc"})", "43-phone");
  EXPECT_EQ(result.outcome, DeliveryOutcome::kInvalidToken);
  EXPECT_EQ(result.http_status, 410);
  EXPECT_EQ(provider_.requests().size(), 2u);
}

TEST_F(ProviderClientTest, UnknownCertificateIsATransportError) {
  ProviderConfig config = Config();
  config.ca_file = "";  // the system's CAs do not know the fake's self-signed certificate
  ProviderClient client(config, clock_);
  DeliveryResult result = client.Post("{}", "1-a");
  EXPECT_EQ(result.outcome, DeliveryOutcome::kRetryable);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_FALSE(result.detail.empty());
  EXPECT_TRUE(provider_.requests().empty());
}

TEST_F(ProviderClientTest, TimeoutIsRetryable) {
  provider_.Script({{200, 1500}});
  ProviderClient client(Config(300), clock_);
  auto started = std::chrono::steady_clock::now();
  DeliveryResult result = client.Post("{}", "1-a");
  EXPECT_EQ(result.outcome, DeliveryOutcome::kRetryable);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1400));
}

TEST_F(ProviderClientTest, ReadsRetryAfterSeconds) {
  provider_.Script({{429, 0, "", 3}, {503}});
  ProviderClient client(Config(), clock_);
  DeliveryResult result = client.Post("{}", "1-a");
  EXPECT_EQ(result.outcome, DeliveryOutcome::kRetryable);
  EXPECT_EQ(result.http_status, 429);
  EXPECT_EQ(result.retry_after_ms, 3000);
  result = client.Post("{}", "1-a");
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(result.retry_after_ms, -1);
  EXPECT_NE(result.detail.find("scripted 503"), std::string::npos) << result.detail;
}

TEST_F(ProviderClientTest, CancelEndsARequestEarly) {
  provider_.Script({{200, 3000}});
  ProviderClient client(Config(10000), clock_);
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto started = std::chrono::steady_clock::now();
  DeliveryResult result = client.Post("{}", "1-a", &cancel);
  canceller.join();
  EXPECT_EQ(result.outcome, DeliveryOutcome::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2500));
}

}  // namespace
}  // namespace chat::bridge
