// The push bridge's side of the job format (core/push_job_format.h, docs/PROTOCOL.md): its names for
// the job and result, and the JSON body POSTed to a provider.
#pragma once

#include <string>
#include <string_view>

#include "core/push_job_format.h"

namespace chat::bridge {

using PushTarget = core::PushJobTarget;
using PushJob = core::PushJobOffer;
using JobResult = core::PushJobResult;
using core::ParsePushJob;

// The JSON POSTed to a provider for one target:
// {"token","platform","title","body","count","job","data":{"user","from","peer"|"group"}}.
std::string ProviderBody(const PushJob& job, const PushTarget& target);

// "<job>-<device>": the same for every attempt at one delivery, so a provider that honours
// Idempotency-Key drops a repeat the bridge could not know was accepted (answer lost in a timeout).
std::string IdempotencyKey(const std::string& job_id, const std::string& device);

// The result payload (core::PushResultJson).
std::string ResultPayload(const std::string& job_id, const JobResult& result);

// Whether `payload`, a reply the server sent on the bridge's own reply topic, is a refusal
// ({"type":"error",...}).
bool IsErrorReply(std::string_view payload);

}  // namespace chat::bridge
