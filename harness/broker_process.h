// BrokerProcess: the real /usr/sbin/mosquitto with the built chat plugin, on free loopback ports, with a
// temporary data folder and config; started, restarted, stopped or killed by a test or a benchmark.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/server_config.h"
#include "core/store.h"
#include "harness/child_process.h"
#include "harness/server_process.h"

namespace chat::harness {

struct BrokerOptions {
  // Load the chat plugin (false: bare Mosquitto with anonymous access, for comparisons).
  bool with_plugin = true;
  // YAML appended to the generated chat config (e.g. "limits:\n  max_message_chars: 10\n"), without an
  // auth section: the harness writes that one (see `auth`).
  std::string extra_yaml = {};
  // Settings of the auth section, over the harness's own: a low pbkdf2_iterations so tests stay fast,
  // and an inline hashing budget that checks those cheap first logins on the spot.
  std::map<std::string, std::string> auth = {};
  // Lines appended to the generated mosquitto.conf.
  std::string extra_mosquitto_conf = {};
  // Bare Mosquitto only: the logins it admits, "user:password" each (hashed with mosquitto_passwd into
  // its password_file), instead of anonymous access.
  std::vector<std::pair<std::string, std::string>> bare_logins = {};
  // Connections each listener accepts (max_connections); 0 keeps the config's own.
  int max_connections = 0;
};

// Stop() (SIGTERM: the plugin's cleanup runs), Kill() (SIGKILL: nothing runs, as in a crash or power cut),
// running(), dir() and log() (the broker's output so far) come from ServerProcess.
class BrokerProcess : public ServerProcess {
 public:
  // Creates the temporary folder and config files; does not start the broker. Aborts the process
  // with a message if the folder cannot be made (a broken test machine, not a test failure).
  explicit BrokerProcess(BrokerOptions options = {});
  ~BrokerProcess();  // stops the broker and removes the temporary folder

  // Starts the broker and waits until both ports accept connections. Returns "" or an error that
  // includes the broker's log.
  std::string Start();

  // Creates an account in the data folder through the same code chatctl uses. Only while stopped.
  std::string AddUserOffline(const std::string& user, const std::string& password, bool is_admin = false);
  // The same for many accounts at once (one opening of the store), all with `password`.
  std::string AddUsersOffline(const std::vector<std::string>& users, const std::string& password);

  // Issues each (user, device) a resume token in the data folder, as the resume_token request does;
  // `tokens` gets them in the same order. Only while stopped.
  std::string IssueResumeTokensOffline(const std::vector<std::pair<std::string, std::string>>& devices,
                                       std::vector<std::string>* tokens);

  // Makes each pair contacts of each other in the data folder (as an accepted contact request would,
  // without its events), so one may put the other in a group at once. Only while stopped.
  std::string AddContactsOffline(const std::vector<std::pair<std::string, std::string>>& pairs);

  int mqtt_port() const { return mqtt_port_; }
  int ws_port() const { return ws_port_; }
  std::string mqtt_uri() const { return "tcp://127.0.0.1:" + std::to_string(mqtt_port_); }
  std::string data_dir() const { return dir() + "/data"; }
  std::string chat_config_path() const { return dir() + "/chat.yaml"; }
  // Opens the stopped broker's store and config for `work`; "" or the error.
  std::string WithStoreOffline(const std::function<core::Status(core::Store&, const config::ServerConfig&)>& work);

 private:
  // The environment a sanitizer build's broker needs (CHAT_BROKER_PRELOAD), or nothing.
  static std::vector<std::string> SanitizerEnv();
  // Two distinct free loopback ports for MQTT and WebSocket.
  void PickPorts();
  void WriteConfigs();  // chat.yaml, then mosquitto.conf
  void WriteMosquittoConf();
  // Writes options_.bare_logins as a hashed password file; its path.
  std::string WriteBarePasswordFile();
  BrokerOptions options_;
  int mqtt_port_ = 0;
  int ws_port_ = 0;
  bool started_ = false;  // once it ran, its ports are what its clients know: never changed again
};

// Paths of the built plugin and of the source tree's config folder (set by CMake).
std::string PluginPath();
std::string SourceConfigDir();

}  // namespace chat::harness
