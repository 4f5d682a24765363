// The mosquitto.conf a chat server runs with, made from config/mosquitto.conf.in and the listeners and
// TLS settings of chat.yaml: the one place that decides what Mosquitto opens (run-server.sh and the
// container through `chatctl config mosquitto-conf`, the test harness directly).
#pragma once

#include <string>

#include "config/server_config.h"
#include "core/status.h"

namespace chat::config {

// What chat.yaml does not say: where things are on this machine.
struct BrokerFiles {
  std::string plugin_path;   // the built chat_plugin.so
  std::string config_file;   // the chat.yaml the plugin reads
  std::string user;          // the account Mosquitto drops privileges to
};

// Fills `template_text`'s placeholders (@USER@, @BIND_ADDRESS@, @MQTT_PORT@, @WS_LISTENER@, @LOCAL_ADDRESS@,
// @PLUGIN@, @CONFIG_FILE@, @TLS_LISTENERS@) from `config` and `files`. Refused, naming the setting: plain
// listeners on an address other than loopback without listeners.plain_on_network, and TLS files that
// cannot be read.
core::Result<std::string> MosquittoConf(const std::string& template_text, const ServerConfig& config,
                                        const BrokerFiles& files);

// Whether `address` is a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopbackAddress(const std::string& address);

}  // namespace chat::config
