#include "plugins/broker_outbox.h"

#include <cstring>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
}

namespace chat::plugin {
namespace {

// Events for a user's devices are QoS 1: a device must not miss one. Replies go to one live connection
// at QoS 0: a reply lost with its connection is recovered by repeating the request (a send with the
// same cmid is acknowledged again), and QoS 0 spares the broker a PUBACK and in-flight state per reply.
constexpr int kEventQos = 1;
constexpr int kReplyQos = 0;
// A large reply (a history or sync page) goes at QoS 1 instead: Mosquitto queues QoS 0 to a connected
// client without bound, but QoS 1 within max_inflight_bytes / max_queued_bytes, so a client that asks
// for pages and never reads them cannot grow the broker's memory. One PUBACK per page is nothing.
constexpr std::size_t kQueuedReplyBytes = 16384;
// How many loop passes Mosquitto 2.0.11 takes to write a payload to a WebSocket client (see
// BrokerWaker::KeepTurning): libwebsockets takes up to 8 KB (WS_TX_BUF_SIZE in src/websockets.c) per
// loop pass and about 4 KB was seen; four times that many passes, for room (a pass in which the socket
// took nothing counts too).
constexpr std::size_t kBytesPerWebSocketPass = 4096;

}  // namespace

void BrokerOutbox::Publish(const char* client_id, const std::string& topic, const std::string& payload, int qos,
                           bool retain) {
  // The broker takes ownership of a mosquitto_malloc'd payload.
  void* copy = mosquitto_malloc(payload.size() + 1);
  if (copy == nullptr) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: out of memory publishing to %s", topic.c_str());
    return;
  }
  std::memcpy(copy, payload.data(), payload.size());
  static_cast<char*>(copy)[payload.size()] = '\0';
  int rc = mosquitto_broker_publish(client_id, topic.c_str(), static_cast<int>(payload.size()), copy, qos, retain,
                                    nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_free(copy);  // ownership passes only on success
    mosquitto_log_printf(MOSQ_LOG_ERR, "chat: publish to %s failed (%d)", topic.c_str(), rc);
    return;
  }
  // A WebSocket client gets it 8 KB a loop pass (see BrokerWaker::KeepTurning); which transport the
  // receiver uses is not known here, and a few extra passes cost a TCP client's broker nothing much.
  if (payload.size() > kBytesPerWebSocketPass) {
    waker_.KeepTurning(static_cast<long>(4 * (payload.size() / kBytesPerWebSocketPass + 1)));
  }
}

void BrokerOutbox::ToTopic(std::string topic, std::string payload) { Publish(nullptr, topic, payload, kEventQos); }

void BrokerOutbox::ToDevice(std::string client_id, std::string topic, std::string payload) {
  Publish(client_id.c_str(), topic, payload, kEventQos);
}

void BrokerOutbox::ToClient(std::string client_id, std::string topic, std::string payload) {
  Publish(client_id.c_str(), topic, payload, payload.size() > kQueuedReplyBytes ? kEventQos : kReplyQos);
}

void BrokerOutbox::Ephemeral(std::string topic, std::string payload) { Publish(nullptr, topic, payload, 0); }

void BrokerOutbox::Retained(std::string topic, std::string payload) {
  Publish(nullptr, topic, payload, kEventQos, /*retain=*/true);
}

}  // namespace chat::plugin
