// Status and Result: how core/ and storage/ report failure without exceptions.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace chat::core {

// Error codes double as the machine-readable `code` of protocol errors (see error_code.cc for names).
enum class ErrorCode {
  kOk = 0,
  kBadRequest,     // malformed request: bad JSON, missing or mistyped field
  kBadUtf8,        // text is not valid UTF-8
  kTooLong,        // text or field over its configured limit
  kUnknownPeer,    // the named user does not exist
  kNotAllowed,     // the caller may not do this
  kRateLimited,    // the caller sends faster than the configured rate
  kGroupFull,      // adding would pass the group member limit
  kNotFound,       // storage: no such key
  kAlreadyExists,  // storage/admin: the thing exists already
  kInvalidArgument,
  kIoError,        // storage failure; the request was not applied
  kCorruption,     // stored data could not be decoded
  kInternal,
  kTryAgain,       // not decided yet (a password check is running): ask again shortly
  kBusy,           // too much is waiting to be stored: ask again shortly
};

// Returns the stable lower_snake name of `code`, used on the wire ("too_long").
const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

// Drops a Status on purpose. `why` documents the decision at the call site and keeps it searchable.
inline void IgnoreError(const Status& /*status*/, const char* /*why*/) {}

}  // namespace chat::core
