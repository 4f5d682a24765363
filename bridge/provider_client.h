// ProviderClient: POSTs one push to one provider's HTTPS endpoint with libcurl (OpenSSL) and sorts the
// answer into what the bridge does next: done, token dead, try again later, or give up.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bridge/bridge_config.h"
#include "core/clock.h"

typedef void CURL;  // libcurl's handle type, as curl/curl.h declares it

namespace chat::bridge {

enum class DeliveryOutcome {
  kAccepted,      // 2xx: the provider took it
  kInvalidToken,  // the device's token is dead: the server should forget it
  kRetryable,     // 5xx, 429, timeout or transport error: try again after a backoff
  kPermanent,     // any other answer: trying again would get the same
  kCancelled,     // the bridge is stopping; the outcome is unknown
};

const char* DeliveryOutcomeName(DeliveryOutcome outcome);

// Sorts an HTTP answer. 2xx accepted; 404 and 410 an invalid token; 5xx and 429 retryable; another 4xx
// whose body says "invalid_token", "Unregistered" or "BadDeviceToken" an invalid token; anything else
// permanent. 401 and 403 are never an invalid token: there OAuth's "invalid_token" speaks of the bridge's
// own credential, and taking it for the device's would make the server drop every token it has.
DeliveryOutcome ClassifyResponse(long http_status, std::string_view body);

// The delay a response header line "Retry-After: <seconds>" asks for, in ms (under a day); nullopt for
// any other line, and for the HTTP-date form (the normal backoff applies then).
std::optional<std::int64_t> ParseRetryAfter(std::string_view header_line);

struct DeliveryResult {
  DeliveryOutcome outcome = DeliveryOutcome::kRetryable;
  long http_status = 0;              // 0 when no answer came
  std::string detail;                // the transport error, or the start of an error body, for the log
  std::int64_t retry_after_ms = -1;  // the provider's Retry-After, -1 when absent
  std::int64_t elapsed_ms = 0;
};

class ProviderClient {
 public:
  // curl_global_init must have run (main does it before any thread starts). `clock` times each request
  // (DeliveryResult::elapsed_ms) and must outlive the client.
  ProviderClient(ProviderConfig config, const core::Clock& clock);
  ~ProviderClient();
  ProviderClient(const ProviderClient&) = delete;
  ProviderClient& operator=(const ProviderClient&) = delete;

  // POSTs `body` (JSON) with the configured headers and "Idempotency-Key: <idempotency_key>". Blocks up
  // to the configured timeout; returns early with kCancelled once `*cancel` becomes true. Not
  // thread-safe: one caller at a time (the handle keeps the connection open between calls).
  DeliveryResult Post(const std::string& body, const std::string& idempotency_key,
                      const std::atomic<bool>* cancel = nullptr);

 private:
  ProviderConfig config_;
  const core::Clock& clock_;
  CURL* curl_;
};

}  // namespace chat::bridge
