// libcurl POSTs to a push provider. One easy handle per provider, reset (not recreated) per request, so
// the TLS connection to the provider is reused across pushes.
#include "bridge/provider_client.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>

namespace chat::bridge {
namespace {

constexpr std::size_t kMaxBody = 64 * 1024;  // enough to classify; the rest is not kept

struct Exchange {
  std::string body;
  std::int64_t retry_after_ms = -1;
  const std::atomic<bool>* cancel = nullptr;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::size_t bytes = size * count;
  if (exchange->body.size() < kMaxBody) exchange->body.append(data, std::min(bytes, kMaxBody - exchange->body.size()));
  return bytes;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    exchange->retry_after_ms = -1;  // a new response (after 100 Continue, say) starts over
  } else if (std::optional<std::int64_t> delay = ParseRetryAfter(line)) {
    exchange->retry_after_ms = *delay;
  }
  return size * count;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* exchange = static_cast<Exchange*>(user);
  return exchange->cancel != nullptr && exchange->cancel->load() ? 1 : 0;
}

bool Contains(std::string_view body, std::string_view needle) { return body.find(needle) != std::string_view::npos; }

// One line for the log: no line breaks, bounded.
std::string Excerpt(std::string_view body) {
  std::string out(body.substr(0, 200));
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

const char* DeliveryOutcomeName(DeliveryOutcome outcome) {
  switch (outcome) {
    case DeliveryOutcome::kAccepted:
      return "accepted";
    case DeliveryOutcome::kInvalidToken:
      return "invalid_token";
    case DeliveryOutcome::kRetryable:
      return "retryable";
    case DeliveryOutcome::kPermanent:
      return "permanent";
    case DeliveryOutcome::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

DeliveryOutcome ClassifyResponse(long http_status, std::string_view body) {
  if (http_status >= 200 && http_status < 300) return DeliveryOutcome::kAccepted;
  if (http_status == 404 || http_status == 410) return DeliveryOutcome::kInvalidToken;
  if (http_status >= 500 && http_status < 600) return DeliveryOutcome::kRetryable;
  if (http_status == 429) return DeliveryOutcome::kRetryable;
  if (http_status >= 400 && http_status < 500 && http_status != 401 && http_status != 403 &&
      (Contains(body, "invalid_token") || Contains(body, "Unregistered") || Contains(body, "UNREGISTERED") ||
       Contains(body, "BadDeviceToken"))) {
    return DeliveryOutcome::kInvalidToken;
  }
  return DeliveryOutcome::kPermanent;
}

std::optional<std::int64_t> ParseRetryAfter(std::string_view header_line) {
  if (header_line.size() <= 12 || strncasecmp(header_line.data(), "retry-after:", 12) != 0) return std::nullopt;
  std::string value(header_line.substr(12));
  char* end = nullptr;
  long seconds = std::strtol(value.c_str(), &end, 10);
  if (end == value.c_str() || seconds < 0 || seconds >= 86400) return std::nullopt;
  return seconds * std::int64_t{1000};
}

ProviderClient::ProviderClient(ProviderConfig config, const core::Clock& clock)
    : config_(std::move(config)), clock_(clock), curl_(curl_easy_init()) {}

ProviderClient::~ProviderClient() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
}

DeliveryResult ProviderClient::Post(const std::string& body, const std::string& idempotency_key,
                                    const std::atomic<bool>* cancel) {
  DeliveryResult result;
  if (curl_ == nullptr) {
    result.detail = "curl_easy_init failed";
    return result;
  }
  std::int64_t started_ms = clock_.MonotonicMillis();
  Exchange exchange;
  exchange.cancel = cancel;

  curl_slist* raw = nullptr;
  raw = curl_slist_append(raw, "Content-Type: application/json");
  raw = curl_slist_append(raw, ("Idempotency-Key: " + idempotency_key).c_str());
  raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip for a small body
  for (const auto& [name, value] : config_.headers) raw = curl_slist_append(raw, (name + ": " + value).c_str());
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);

  curl_easy_reset(curl_);  // keeps the open connection and TLS session, drops the last request's options
  curl_easy_setopt(curl_, CURLOPT_URL, config_.url.c_str());
  curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl_, CURLOPT_POST, 1L);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl_, CURLOPT_USERAGENT, "chat-push-bridge/1");
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.timeout_ms));
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl_, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!config_.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, config_.ca_file.c_str());
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, &exchange);
  curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);

  CURLcode code = curl_easy_perform(curl_);
  result.elapsed_ms = clock_.MonotonicMillis() - started_ms;
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    result.outcome = DeliveryOutcome::kCancelled;
    result.detail = "cancelled";
    return result;
  }
  if (code != CURLE_OK) {
    // No answer (or none in time): the provider may or may not have the push; the retry carries the
    // same Idempotency-Key.
    result.outcome = DeliveryOutcome::kRetryable;
    result.detail = curl_easy_strerror(code);
    return result;
  }
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &result.http_status);
  result.outcome = ClassifyResponse(result.http_status, exchange.body);
  result.retry_after_ms = exchange.retry_after_ms;
  if (result.outcome != DeliveryOutcome::kAccepted) result.detail = Excerpt(exchange.body);
  return result;
}

}  // namespace chat::bridge
