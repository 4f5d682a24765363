// JetStreamLog: the replicated log on a NATS JetStream stream (Debian's nats-server, three servers,
// `replicas` copies). Each change is one message on the stream's subject with its change id as
// Nats-Msg-Id, which JetStream uses to store an append repeated within the stream's duplicate window
// once. Appends are js_PublishMsgAsync: the message goes into the connection's buffer, which the
// client's flusher thread writes; the acknowledgement comes back on the client's thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "cluster/change_log.h"
#include "config/server_config.h"
#include "core/status.h"

typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;
typedef struct __natsMsg natsMsg;
typedef struct jsPubAck jsPubAck;
typedef struct jsPubAckErr jsPubAckErr;

namespace chat::cluster {

// How long JetStream remembers a change id: longer than any retry of the appender, and than a node's
// restart, whose outbox is appended again then.
inline constexpr std::int64_t kDuplicateWindowSeconds = 3600;

class JetStreamLog final : public ChangeLog {
 public:
  // Connects to `settings.nats_servers` (reconnecting for ever once connected) and makes sure the stream
  // exists, creating it when missing; waits up to settings.start_timeout_seconds for a cluster still
  // electing its leader. Fails naming what it could not do.
  static core::Result<std::unique_ptr<JetStreamLog>> Connect(const config::ClusterSettings& settings,
                                                            const std::string& client_name);
  ~JetStreamLog() override;

  void SetConfirmed(Confirmed confirmed) override;
  core::Status Append(core::MessageId change_id, const std::string& record) override;
  std::size_t max_record_bytes() const override { return max_record_bytes_; }

 private:
  JetStreamLog() = default;
  static void OnAck(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* self);

  std::string subject_;
  std::int64_t ack_wait_ms_ = 0;  // an append unanswered this long is answered with a timeout
  std::size_t max_record_bytes_ = 0;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  std::mutex confirmed_mutex_;  // SetConfirmed(nullptr) may run while an acknowledgement arrives
  Confirmed confirmed_;
};

}  // namespace chat::cluster
