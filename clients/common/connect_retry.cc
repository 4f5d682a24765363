#include "clients/common/connect_retry.h"

#include <algorithm>
#include <thread>

namespace chat::clients {

void ConnectWithRetry(mqtt::async_client& client, const mqtt::connect_options& options,
                      std::chrono::milliseconds give_up_after) {
  auto deadline = std::chrono::steady_clock::now() + give_up_after;
  std::chrono::milliseconds pause(100);
  while (true) {
    try {
      client.connect(options)->wait();
      return;
    } catch (const mqtt::exception& e) {
      // Paho reports a connection closed before any CONNACK as a generic failure (-1); a CONNACK
      // refusal carries its code (MQTT 3.1.1: 1..5, MQTT 5: 0x80 and up).
      bool closed_without_connack = e.get_return_code() == MQTTASYNC_FAILURE;
      if (!closed_without_connack || std::chrono::steady_clock::now() + pause >= deadline) throw;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(1));
  }
}

}  // namespace chat::clients
