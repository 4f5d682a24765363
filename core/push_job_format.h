// The push job wire format between the server and the push bridge, built and read here only: the job
// the server offers on kPushJobsTopic and the result the bridge reports on chat/v1/req/push_result
// (docs/PROTOCOL.md, "The push bridge's side").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol_format.h"
#include "core/records.h"
#include "core/status.h"

namespace chat::core {

// One device a job is for.
struct PushJobTarget {
  std::string device;
  std::string provider;  // one of kPushProviders (core/push_providers.h), as the device registered it
  std::string token;
  std::string platform;
};

// A job as it travels: {"job","user","from","peer"|"group","count","unread","title","body","targets":[...]}.
struct PushJobOffer {
  std::string id;     // the job's message id, as a decimal string
  std::string user;   // the recipient
  std::string from;   // the newest message's sender
  std::string peer;   // 1:1 conversation, or
  std::string group;  // group conversation
  std::int64_t count = 1;
  // The recipient's unread messages over all their conversations (the app's badge), when known; a
  // lower bound when `unread_capped` (core/unread.h bounds the count).
  std::optional<std::int64_t> unread;
  bool unread_capped = false;
  std::string title;
  std::string body;
  std::vector<PushJobTarget> targets;  // one per device, devices unique
};

// A job's final answer. `sent` is true when a provider accepted it for at least one device.
struct PushJobResult {
  bool sent = false;
  std::vector<std::string> invalid_devices;  // the provider said the token is dead
};

// The payload offered for `job`: titled `title`, addressed to `targets`, with the recipient's unread
// total when it is known.
std::string PushJobJson(const PushJob& job, std::string_view title, const std::vector<PushToken>& targets,
                        const std::optional<UnreadCount>& unread);
std::string PushJobJson(const PushJobOffer& job);

// Parses a job payload (kBadRequest saying what is wrong). Unknown fields are ignored, so the server may
// add fields without a bridge upgrade. `out->id` is filled whenever the payload names a job, even when
// something else is wrong, so such a job can still be answered (as failed). Repeated devices are dropped.
Status ParsePushJob(std::string_view payload, PushJobOffer* out);

// {"job","outcome":"sent"|"failed","invalid_devices":[...]}.
std::string PushResultJson(std::string_view job_id, const PushJobResult& result);

// Reads a push_result request: the job it answers and the result. kBadRequest naming the field.
Status ParsePushResult(const RequestFields& request, MessageId* job_id, PushJobResult* out);

}  // namespace chat::core
