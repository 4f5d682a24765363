// The push job format both ways: a job payload as the bridge reads it from the broker, what the bridge
// builds from it (the provider body, the idempotency key, the result) and the result as the server reads
// it back. A job is written by the server, but the bridge must survive any payload (it answers a job it
// cannot use as failed), and what it accepted must survive its own round trips.
#include <nlohmann/json.hpp>

#include <string>

#include "bridge/push_job.h"
#include "core/message_id.h"
#include "core/protocol_format.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat::bridge {
namespace {

using nlohmann::json;

void CheckAccepted(const PushJob& job, std::size_t payload_size) {
  FUZZ_CHECK(!job.id.empty() && job.id.size() <= 128);
  FUZZ_CHECK(job.count >= 0);
  FUZZ_CHECK(!job.unread || *job.unread >= 0);
  std::size_t bytes = job.id.size() + job.user.size() + job.from.size() + job.peer.size() + job.group.size() +
                      job.title.size() + job.body.size();
  for (std::size_t i = 0; i < job.targets.size(); ++i) {
    const PushTarget& target = job.targets[i];
    FUZZ_CHECK(!target.device.empty() && !target.provider.empty() && !target.token.empty());
    for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(job.targets[j].device != target.device);
    bytes += target.device.size() + target.provider.size() + target.token.size() + target.platform.size();
  }
  FUZZ_CHECK(bytes <= payload_size);
}

// The server writes a job with PushJobJson; the bridge must read back what was written. A job naming both
// a peer and a group is written with the group only.
void CheckRewrite(const PushJob& job) {
  PushJob again;
  FUZZ_CHECK(ParsePushJob(core::PushJobJson(job), &again).ok());
  FUZZ_CHECK(again.id == job.id && again.user == job.user && again.from == job.from && again.group == job.group);
  FUZZ_CHECK(again.peer == (job.group.empty() ? job.peer : ""));
  FUZZ_CHECK(again.count == job.count && again.title == job.title && again.body == job.body);
  FUZZ_CHECK(again.unread == job.unread && again.unread_capped == job.unread_capped);
  FUZZ_CHECK(again.targets.size() == job.targets.size());
  for (std::size_t i = 0; i < job.targets.size(); ++i) {
    const PushTarget& a = job.targets[i];
    const PushTarget& b = again.targets[i];
    FUZZ_CHECK(a.device == b.device && a.provider == b.provider && a.token == b.token && a.platform == b.platform);
  }
}

void CheckProviderBodies(const PushJob& job) {
  for (const PushTarget& target : job.targets) {
    json body = json::parse(ProviderBody(job, target), nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(body.is_object());
    FUZZ_CHECK(body["token"] == target.token && body["job"] == job.id && body["count"] == job.count);
    std::string key = IdempotencyKey(job.id, target.device);
    FUZZ_CHECK(key.size() == job.id.size() + 1 + target.device.size());
  }
}

// The result the bridge publishes, read by the server's push_result handler. Results the request bounds
// refuse (thousands of dead devices) are left to the bounds.
void CheckResult(const PushJob& job) {
  JobResult result;
  result.sent = job.count % 2 == 0;
  for (const PushTarget& target : job.targets) result.invalid_devices.push_back(target.device);
  std::string payload = ResultPayload(job.id, result);
  static core::RequestFields request;
  if (!request.Parse(payload, core::RequestBoundsFor(/*is_send=*/false, core::Limits{})).ok()) return;
  core::MessageId job_id = 0;
  JobResult read;
  core::Status status = core::ParsePushResult(request, &job_id, &read);
  std::optional<core::MessageId> expected_id = core::ParseMessageId(job.id);
  FUZZ_CHECK(status.ok() == expected_id.has_value());
  if (!status.ok()) return;
  FUZZ_CHECK(job_id == *expected_id);
  FUZZ_CHECK(read.sent == result.sent && read.invalid_devices == result.invalid_devices);
}

}  // namespace
}  // namespace chat::bridge

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chat::bridge;
  std::string_view payload = chat::fuzz::AsText(data, size);
  PushJob job;
  chat::core::Status status = ParsePushJob(payload, &job);
  // A job that names itself is answered even when the rest is wrong, so its id is bounded either way.
  FUZZ_CHECK(job.id.size() <= 128);
  if (!status.ok()) return 0;
  CheckAccepted(job, size);
  CheckRewrite(job);
  CheckProviderBodies(job);
  CheckResult(job);
  return 0;
}
