#include "core/status.h"

namespace chat::core {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kBadUtf8: return "bad_utf8";
    case ErrorCode::kTooLong: return "too_long";
    case ErrorCode::kUnknownPeer: return "unknown_peer";
    case ErrorCode::kNotAllowed: return "not_allowed";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kGroupFull: return "group_full";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kIoError: return "storage_error";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kTryAgain: return "try_again";
    case ErrorCode::kBusy: return "busy";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(ErrorCodeName(code_)) + ": " + message_;
}

}  // namespace chat::core
