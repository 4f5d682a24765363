// ServerMetrics: what the broker thread counts about logins, requests, messages, presence and push, for
// operators (Prometheus, $SYS). Counts and reasons only: never a user id or message text.
#pragma once

#include <array>
#include <cstddef>

#include "core/metrics.h"
#include "core/status.h"
#include "core/topic_format.h"

namespace chat::core {

// Why a login ended the way it did.
enum class LoginResult {
  kOk,
  kWrongCredentials,  // unknown name, wrong password or token (one answer to the client)
  kChecking,          // the password is being checked or the source is throttled: the client reconnects
  kRefusedClient,     // anonymous, a client id not bound to the user, a keepalive out of bounds
  kSessionLimit,      // past the user's device or session cap
  kStorageError,
};
inline constexpr std::size_t kLoginResultCount = 6;
const char* LoginResultName(LoginResult result);

inline constexpr std::size_t kErrorCodeCount = static_cast<std::size_t>(ErrorCode::kBusy) + 1;

// Written by the broker thread only; read by any.
struct ServerMetrics {
  std::array<Counter, kLoginResultCount> logins;
  Gauge connections;                                  // devices connected now
  std::array<Counter, kRequestOpCount + 1> requests;  // by RequestOp, accepted or not
  std::array<Counter, kErrorCodeCount> rejected;      // requests answered with an error, by code
  Counter direct_messages;  // messages stored, 1:1
  Counter group_messages;   // messages stored, groups
  Counter deliveries;       // message events published to connected devices
  Counter presence_online;  // users shown online
  Counter presence_offline;
  Counter push_jobs_queued;   // notifications to deliver, stored
  Counter push_jobs_offered;  // offers to the push bridge, first ones and repeats
  Counter push_jobs_done;     // reported delivered
  Counter push_jobs_failed;   // reported failed for good

  void CountLogin(LoginResult result) { logins[static_cast<std::size_t>(result)].Add(); }
  void CountRejected(ErrorCode code) { rejected[static_cast<std::size_t>(code)].Add(); }
  // Appends every metric (chat_logins_total, chat_requests_total, ...) to `samples`.
  void Describe(MetricSamples& samples) const;
};

}  // namespace chat::core
