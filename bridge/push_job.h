// The push bridge's wire formats: the job the server offers on chat/v1/service/push/jobs, the JSON body
// POSTed to a provider, and the result published on chat/v1/req/push_result (docs/PROTOCOL.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::bridge {

inline constexpr const char* kJobsTopic = "chat/v1/service/push/jobs";
inline constexpr const char* kResultTopic = "chat/v1/req/push_result";

struct PushTarget {
  std::string device;
  std::string provider;  // one of core::kPushProviders
  std::string token;
  std::string platform;
};

struct PushJob {
  std::string id;
  std::string user;   // the recipient
  std::string from;   // the newest message's sender
  std::string peer;   // 1:1 conversation, or
  std::string group;  // group conversation
  std::int64_t count = 1;
  std::string title;
  std::string body;
  std::vector<PushTarget> targets;  // one per device, devices unique
};

// A job's final answer. `sent` is true when a provider accepted it for at least one device.
struct JobResult {
  bool sent = false;
  std::vector<std::string> invalid_devices;  // the provider said the token is dead
};

// Parses a job payload; returns "" or what is wrong with it. `out->id` is filled whenever the payload
// names a job, even when something else is wrong, so such a job can still be answered (as failed).
std::string ParsePushJob(std::string_view payload, PushJob* out);

// The JSON POSTed to a provider for one target:
// {"token","platform","title","body","count","job","data":{"user","from","peer"|"group"}}.
std::string ProviderBody(const PushJob& job, const PushTarget& target);

// "<job>-<device>": the same for every attempt at one delivery, so a provider that honours
// Idempotency-Key drops a repeat the bridge could not know was accepted (answer lost in a timeout).
std::string IdempotencyKey(const std::string& job_id, const std::string& device);

// {"job","outcome":"sent"|"failed","invalid_devices":[...]}.
std::string ResultPayload(const std::string& job_id, const JobResult& result);

}  // namespace chat::bridge
