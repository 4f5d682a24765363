#include "core/resume_token_service.h"

#include <algorithm>

#include "core/names.h"
#include "core/protocol_format.h"
#include "core/resume_tokens.h"

namespace chat::core {

Status ResumeTokenService::Issue(const Request& r) {
  if (auth_.resume_token_days == 0) {
    return Status::Error(ErrorCode::kNotAllowed, "this server issues no resume tokens");
  }
  std::string user(r.caller.user_id);
  Result<std::string> device = DeviceIdForClient(user, r.caller.client_id);
  if (!device.ok()) return device.status();
  Result<std::vector<ResumeToken>> held = context_.store.ListResumeTokens(user);
  if (!held.ok()) return held.status();
  std::erase_if(*held, [&](const ResumeToken& token) { return token.device_id == *device; });
  // Oldest first; what goes makes room for this device's token.
  std::sort(held->begin(), held->end(),
            [](const ResumeToken& a, const ResumeToken& b) { return a.issued_at_ms < b.issued_at_ms; });
  std::size_t keep = auth_.max_resume_tokens_per_user - 1;
  for (std::size_t i = 0; i + keep < held->size(); ++i) {
    r.tx.writes.resume_tokens.push_back({user, ResumeToken{(*held)[i].device_id, "", 0}});
  }
  std::int64_t now = context_.clock.NowMillis();
  Result<NewResumeToken> made = MakeResumeToken(user, *device, now);
  if (!made.ok()) return made.status();
  r.tx.writes.resume_tokens.push_back({user, made->record});
  r.Reply(ResumeTokenJson(r.fields.tag(), made->token, ResumeTokenExpiry(now, auth_.resume_token_days)));
  return Status::Ok();
}

}  // namespace chat::core
