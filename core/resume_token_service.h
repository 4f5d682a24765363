// ResumeTokenService: the `resume_token` request (a device asks for its resume token) and what an
// account change does to the tokens. Not thread-safe: broker thread. Borrows its arguments.
#pragma once

#include <string>

#include "core/service_context.h"
#include "core/settings.h"

namespace chat::core {

class ResumeTokenService {
 public:
  ResumeTokenService(ServiceContext& context, const AuthSettings& auth) : context_(context), auth_(auth) {}

  // Issues the calling device a new token (its previous one ends), replying with it once stored. When
  // the user already holds max_resume_tokens_per_user, the oldest other device's token ends.
  Status Issue(const Request& r);

 private:
  ServiceContext& context_;
  const AuthSettings& auth_;
};

}  // namespace chat::core
