#include "cluster/jetstream_log.h"

#include <nats/nats.h>

#include <chrono>
#include <thread>
#include <vector>

namespace chat::cluster {
namespace {

constexpr const char* kMsgIdHeader = "Nats-Msg-Id";

core::Status NatsError(const std::string& what, natsStatus status, jsErrCode js_error = static_cast<jsErrCode>(0)) {
  std::string message = what + ": " + natsStatus_GetText(status);
  if (js_error != 0) message += " (JetStream error " + std::to_string(static_cast<int>(js_error)) + ")";
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0') message += ": " + std::string(last);
  return core::Status::Error(core::ErrorCode::kIoError, message);
}

// Creates the stream unless it exists. Several nodes starting together may race to create it: the
// loser finds it on its next look.
core::Status EnsureStream(jsCtx* js, const config::ClusterSettings& settings) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(settings.start_timeout_seconds);
  core::Status last = core::Status::Ok();
  while (true) {
    jsStreamInfo* info = nullptr;
    jsErrCode js_error = static_cast<jsErrCode>(0);
    natsStatus found = js_GetStreamInfo(&info, js, settings.stream.c_str(), nullptr, &js_error);
    if (found == NATS_OK) {
      jsStreamInfo_Destroy(info);
      return core::Status::Ok();
    }
    last = NatsError("stream " + settings.stream, found, js_error);
    if (found == NATS_NOT_FOUND) {
      jsStreamConfig config;
      jsStreamConfig_Init(&config);
      config.Name = settings.stream.c_str();
      const char* subjects[] = {settings.subject.c_str()};
      config.Subjects = subjects;
      config.SubjectsLen = 1;
      config.Storage = js_FileStorage;
      config.Replicas = settings.replicas;
      config.Duplicates = kDuplicateWindowSeconds * 1000 * 1000 * 1000;  // nanoseconds
      js_error = static_cast<jsErrCode>(0);
      natsStatus added = js_AddStream(&info, js, &config, nullptr, &js_error);
      if (added == NATS_OK) {
        jsStreamInfo_Destroy(info);
        return core::Status::Ok();
      }
      last = NatsError("creating stream " + settings.stream, added, js_error);
    }
    // No stream leader yet (a cluster just started), or another node created it meanwhile.
    if (std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace

core::Result<std::unique_ptr<JetStreamLog>> JetStreamLog::Connect(const config::ClusterSettings& settings,
                                                                 const std::string& client_name) {
  std::unique_ptr<JetStreamLog> log(new JetStreamLog());
  log->subject_ = settings.subject;
  natsOptions* options = nullptr;
  if (natsStatus s = natsOptions_Create(&options); s != NATS_OK) return NatsError("NATS options", s);
  std::vector<const char*> servers;
  for (const std::string& server : settings.nats_servers) servers.push_back(server.c_str());
  natsOptions_SetServers(options, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetName(options, client_name.c_str());
  // Once connected, a lost server is replaced by another of the cluster, for ever; appends made while
  // none is reachable wait in the client's buffer and are repeated by the appender if lost.
  natsOptions_SetMaxReconnect(options, -1);
  natsOptions_SetReconnectWait(options, 100);
  natsOptions_SetTimeout(options, 2000);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(settings.start_timeout_seconds);
  natsStatus connected;
  while ((connected = natsConnection_Connect(&log->connection_, options)) != NATS_OK &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  natsOptions_Destroy(options);
  if (connected != NATS_OK) return NatsError("connecting to NATS", connected);

  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.PublishAsync.AckHandler = &JetStreamLog::OnAck;
  js_options.PublishAsync.AckHandlerClosure = log.get();
  // Appends waiting for their acknowledgement, at most; past it an append returns an error at once and
  // the appender tries it again later (it never blocks the appender's thread for long).
  js_options.PublishAsync.MaxPending = 65536;
  js_options.PublishAsync.StallWait = 1;
  if (natsStatus s = natsConnection_JetStream(&log->js_, log->connection_, &js_options); s != NATS_OK) {
    return NatsError("JetStream context", s);
  }
  if (core::Status s = EnsureStream(log->js_, settings); !s.ok()) return s;
  log->ack_wait_ms_ = settings.append_retry_ms;
  // The server's limit, less room for the headers (Nats-Msg-Id and the protocol's own).
  std::int64_t max_payload = natsConnection_GetMaxPayload(log->connection_);
  log->max_record_bytes_ = max_payload > 1024 ? static_cast<std::size_t>(max_payload - 1024) : 0;
  return log;
}

JetStreamLog::~JetStreamLog() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (connection_ != nullptr) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
  // The client's delivery threads are detached: an acknowledgement could still be running. Closing the
  // library waits for them (the plugin is the process's only user of it, and this is its stop).
  nats_CloseAndWait(2000);
}

core::Status JetStreamLog::Append(core::MessageId change_id, const std::string& record) {
  natsMsg* msg = nullptr;
  if (natsStatus s = natsMsg_Create(&msg, subject_.c_str(), nullptr, record.data(), static_cast<int>(record.size()));
      s != NATS_OK) {
    return NatsError("append", s);
  }
  std::string id = core::FormatMessageId(change_id);
  natsStatus s = natsMsgHeader_Set(msg, kMsgIdHeader, id.c_str());
  // Without a wait, an append whose answer is lost (a connection dropped after it went out, a stream
  // without a leader) would stay pending in the client for ever; with it, the answer is a timeout.
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MaxWait = ack_wait_ms_;
  if (s == NATS_OK) s = js_PublishMsgAsync(js_, &msg, &options);  // takes the message when it succeeds
  natsMsg_Destroy(msg);
  return s == NATS_OK ? core::Status::Ok() : NatsError("append", s);
}

void JetStreamLog::SetConfirmed(Confirmed confirmed) {
  std::lock_guard<std::mutex> lock(confirmed_mutex_);
  confirmed_ = std::move(confirmed);
}

void JetStreamLog::OnAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* error, void* self) {
  auto* log = static_cast<JetStreamLog*>(self);
  const char* id_text = nullptr;
  std::optional<core::MessageId> change_id;
  if (natsMsgHeader_Get(msg, kMsgIdHeader, &id_text) == NATS_OK) change_id = core::ParseMessageId(id_text);
  std::lock_guard<std::mutex> lock(log->confirmed_mutex_);
  if (change_id && log->confirmed_) {
    if (ack != nullptr) {
      log->confirmed_(*change_id, core::Status::Ok());
    } else {
      std::string why = error != nullptr && error->ErrText != nullptr ? error->ErrText : "no acknowledgement";
      log->confirmed_(*change_id, core::Status::Error(core::ErrorCode::kIoError, "log append failed: " + why));
    }
  }
  natsMsg_Destroy(msg);
}

}  // namespace chat::cluster
