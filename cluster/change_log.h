// ChangeLog: the replicated log a cluster's accepted changes are appended to (JetStream in
// jetstream_log.h; a fake in tests). Appends are asynchronous: the caller never waits on the network.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "core/message_id.h"
#include "core/status.h"

namespace chat::cluster {

class ChangeLog {
 public:
  // Told, on a thread of the log client, how an append ended: Ok once the log has stored it (also when
  // it had it already, from an earlier attempt under the same id), or an error (the appender tries again).
  using Confirmed = std::function<void(core::MessageId change_id, const core::Status& status)>;

  virtual ~ChangeLog() = default;
  // Set once, before the first Append.
  virtual void SetConfirmed(Confirmed confirmed) = 0;
  // Starts appending `record` under `change_id`, which the log uses to store a repeated append once. An
  // error means it did not start (not connected, too many appends waiting); Confirmed is then not called.
  virtual core::Status Append(core::MessageId change_id, const std::string& record) = 0;
  // The largest record the log takes (NATS's max_payload, less room for the headers).
  virtual std::size_t max_record_bytes() const = 0;
};

}  // namespace chat::cluster
