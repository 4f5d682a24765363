// What a client names when it connects, publishes and subscribes: topics and topic filters (the request
// table, the ACL), client ids, user and device names, and a password that may be a resume token.
// Input: a user id and another user id, each ended by "\ " (FuzzedDataProvider's random-length
// strings), then the topic, which is also tried as a client id, a cmid and a password.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "core/access_policy.h"
#include "core/names.h"
#include "core/resume_tokens.h"
#include "core/topic_format.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat::core {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// Names end up inside topics and storage keys: none may carry topic syntax or a key separator.
void CheckName(std::string_view name, const Status& status) {
  if (!status.ok()) return;
  FUZZ_CHECK(!name.empty() && name.size() <= 64);
  FUZZ_CHECK(name.find_first_of(std::string_view("/+#:$\0 ", 7)) == std::string_view::npos);
}

void CheckRequestTopic(std::string_view topic) {
  RequestOp op = ParseRequestTopic(topic);
  if (op != RequestOp::kUnknown) FUZZ_CHECK(RequestTopic(op) == topic);
}

void CheckClientId(const std::string& user, const std::string& other, const std::string& client_id) {
  Result<std::string> device = DeviceIdForClient(user, client_id);
  bool broker_assigned = device.ok() && *device == client_id;
  if (device.ok() && !broker_assigned) {
    FUZZ_CHECK(client_id == user + ":" + *device);
    FUZZ_CHECK(ValidateDeviceId(*device).ok());
  }
  if (broker_assigned) FUZZ_CHECK(StartsWith(client_id, "auto-"));
  // Only one user's devices may use a client id: the broker lets a client id take over its session.
  if (device.ok() && !broker_assigned && user != other && ValidateUserId(user).ok()) {
    FUZZ_CHECK(!DeviceIdForClient(other, client_id).ok());
  }
  FUZZ_CHECK(CheckSessionClientId(client_id, /*clean_start=*/true).ok());
  if (!CheckSessionClientId(client_id, /*clean_start=*/false).ok()) FUZZ_CHECK(broker_assigned);
}

// The ACL for one identity and every kind of access. Plain users stay inside their own prefix.
void CheckAccess(const Identity& who, std::string_view topic) {
  const std::string own_prefix = UserTopic(who.user_id, "");
  const bool plain = !who.is_admin && !who.is_service;
  for (TopicAccess access :
       {TopicAccess::kRead, TopicAccess::kWrite, TopicAccess::kSubscribe, TopicAccess::kUnsubscribe}) {
    for (bool retain : {false, true}) {
      bool allowed = IsAllowed(who, access, topic, retain);
      // The caller may hand over the topic it parsed already; the answer must not change.
      FUZZ_CHECK(allowed == IsAllowed(who, access, topic, retain, ParseRequestTopic(topic)));
      if (who.user_id.empty()) FUZZ_CHECK(!allowed);
      if (!allowed) continue;
      switch (access) {
        case TopicAccess::kWrite:
          FUZZ_CHECK(!retain);
          FUZZ_CHECK(ParseRequestTopic(topic) != RequestOp::kUnknown ||
                     (who.is_admin && (topic == kAccountsControlTopic || topic == kAdminControlTopic)));
          break;
        case TopicAccess::kRead:
        case TopicAccess::kSubscribe:
          if (plain) FUZZ_CHECK(StartsWith(topic, own_prefix));
          break;
        case TopicAccess::kUnsubscribe:
          break;
      }
    }
  }
  if (MayQueueForOfflineSession(who.user_id, TopicAccess::kRead, topic)) {
    FUZZ_CHECK(IsAllowed({who.user_id}, TopicAccess::kRead, topic));
  }
  auto anyone = [](std::string_view) { return true; };
  for (TopicAccess access : {TopicAccess::kRead, TopicAccess::kWrite, TopicAccess::kSubscribe}) {
    FUZZ_CHECK(!MayConnectionAccess(who, /*is_reaper=*/true, access, topic, false, std::nullopt, anyone));
  }
}

// Two different users never share a topic they may read or a filter they may subscribe to.
void CheckIsolation(const std::string& user, const std::string& other, std::string_view topic) {
  if (user == other || !ValidateUserId(user).ok() || !ValidateUserId(other).ok()) return;
  for (TopicAccess access : {TopicAccess::kRead, TopicAccess::kSubscribe}) {
    FUZZ_CHECK(!(IsAllowed({user}, access, topic) && IsAllowed({other}, access, topic)));
  }
  FUZZ_CHECK(IsAllowed({user}, TopicAccess::kRead, UserTopic(user, kMessageKind)));
  FUZZ_CHECK(!IsAllowed({other}, TopicAccess::kRead, UserTopic(user, kMessageKind)));
}

void CheckPresenceTopic(std::string_view topic) {
  std::optional<std::string_view> subject = PresenceSubject(topic);
  if (!subject) return;
  FUZZ_CHECK(ValidateUserId(*subject).ok());
  FUZZ_CHECK(PresenceTopic(*subject) == topic);
  auto anyone = [](std::string_view) { return true; };
  FUZZ_CHECK(!MayConnectionAccess({"alice", true, true}, false, TopicAccess::kWrite, topic, false, std::nullopt, anyone));
}

// A presented password opens the device's token only if it is that token, for that user, in time.
void CheckResumeToken(const std::string& user, const std::string& other, const std::string& password) {
  if (LooksLikeResumeToken(password)) FUZZ_CHECK(password.size() == 68 && StartsWith(password, kResumeTokenPrefix));
  constexpr std::int64_t kNow = 1795000000000;
  constexpr std::uint32_t kDays = 30;
  Result<NewResumeToken> made = MakeResumeToken(user, "phone", kNow);
  FUZZ_CHECK(made.ok());
  FUZZ_CHECK(LooksLikeResumeToken(made->token));
  FUZZ_CHECK(MatchesResumeToken(made->record, user, made->token, kNow, kDays));
  FUZZ_CHECK(!MatchesResumeToken(made->record, user, made->token, ResumeTokenExpiry(kNow, kDays), kDays));
  if (other != user) FUZZ_CHECK(!MatchesResumeToken(made->record, other, made->token, kNow, kDays));
  if (password != made->token) FUZZ_CHECK(!MatchesResumeToken(made->record, user, password, kNow, kDays));
}

}  // namespace
}  // namespace chat::core

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chat::core;
  FuzzedDataProvider input(data, size);
  std::string user = input.ConsumeRandomLengthString(100);
  std::string other = input.ConsumeRandomLengthString(100);
  std::string topic = input.ConsumeRemainingBytesAsString();

  CheckName(user, ValidateUserId(user));
  CheckName(user, ValidateDeviceId(user));
  if (ValidateClientMessageId(topic).ok()) {
    FUZZ_CHECK(!topic.empty() && topic.size() <= 64);
    for (char c : topic) FUZZ_CHECK(c > ' ' && c < 0x7F);
  }
  CheckRequestTopic(topic);
  CheckClientId(user, other, topic);
  for (bool is_admin : {false, true}) {
    for (bool is_service : {false, true}) CheckAccess({user, is_admin, is_service}, topic);
  }
  CheckIsolation(user, other, topic);
  CheckPresenceTopic(topic);
  CheckResumeToken(user, other, topic);
  return 0;
}
