// What the push bridge reads from the network besides jobs: a provider's HTTP answer (its status and
// body decide whether a token is dead or a push is retried, its Retry-After header how long to wait) and
// the server's replies on the bridge's own reply topic. Input: an HTTP response as it comes off the
// wire, "HTTP/1.1 410 Gone\r\n" + header lines + "\r\n" + body; the body is also tried as a reply.
#include <nlohmann/json.hpp>
#include <strings.h>

#include <cstdlib>
#include <string>

#include "bridge/provider_client.h"
#include "bridge/push_job.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat::bridge {
namespace {

// The rules of ClassifyResponse that keep a token alive, or a push retried, whatever the body says.
void CheckOutcome(long status, std::string_view body) {
  DeliveryOutcome outcome = ClassifyResponse(status, body);
  FUZZ_CHECK(outcome != DeliveryOutcome::kCancelled);
  if (status >= 200 && status < 300) FUZZ_CHECK(outcome == DeliveryOutcome::kAccepted);
  if (status == 404 || status == 410) FUZZ_CHECK(outcome == DeliveryOutcome::kInvalidToken);
  if ((status >= 500 && status < 600) || status == 429) FUZZ_CHECK(outcome == DeliveryOutcome::kRetryable);
  // 401 and 403 speak of the bridge's own credential: taking them for a dead token would make the server
  // drop every token it has.
  if (status == 401 || status == 403) FUZZ_CHECK(outcome == DeliveryOutcome::kPermanent);
  // Only a 4xx body may turn an answer into a dead token.
  if (status < 400 || status >= 500) FUZZ_CHECK(outcome == ClassifyResponse(status, ""));
}

void CheckHeaderLine(std::string_view line) {
  std::optional<std::int64_t> delay = ParseRetryAfter(line);
  if (!delay) return;
  FUZZ_CHECK(line.size() > 12 && strncasecmp(line.data(), "retry-after:", 12) == 0);
  FUZZ_CHECK(*delay >= 0 && *delay < 86400 * 1000 && *delay % 1000 == 0);
}

void CheckReply(std::string_view payload) {
  if (!IsErrorReply(payload)) return;
  nlohmann::json reply = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(reply.is_object() && reply["type"] == "error");
}

}  // namespace
}  // namespace chat::bridge

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chat::bridge;
  std::string_view response = chat::fuzz::AsText(data, size);
  std::size_t head_end = response.find("\r\n\r\n");
  std::string_view head = response.substr(0, head_end);
  std::string_view body = head_end == std::string_view::npos ? std::string_view() : response.substr(head_end + 4);

  std::size_t line_end = head.find("\r\n");
  std::string status_line(head.substr(0, line_end));
  std::size_t space = status_line.find(' ');
  long status = space == std::string::npos ? 0 : std::strtol(status_line.c_str() + space + 1, nullptr, 10);
  CheckOutcome(status, body);
  // libcurl hands each header line over with its CRLF.
  while (line_end != std::string_view::npos) {
    std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    std::size_t stop = line_end == std::string_view::npos ? head.size() : line_end;
    CheckHeaderLine(response.substr(start, stop - start + 2));
  }
  CheckReply(body);
  return 0;
}
