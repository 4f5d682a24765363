// FakeBroker: an in-process stand-in for Mosquitto 2.0.11 as a plugin host (plugin API 5). It dlopens a
// built plugin .so, provides the broker functions the plugin calls (this file's .cc defines and exports
// every mosquitto_* function of mosquitto_broker.h), fires events one at a time and records what the plugin
// publishes and logs. tests/README.md says how to use it and what it does not emulate.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

// The broker's connection object, opaque to plugins: they only hold the pointer and read it through the
// mosquitto_client_* functions. Created and owned by FakeBroker::AddClient; tests may edit the fields.
struct mosquitto {
  std::optional<std::string> id;        // mosquitto_client_id (nullopt: NULL, as for some refused logins)
  std::optional<std::string> username;  // mosquitto_client_username; set by BasicAuth / mosquitto_set_username
  std::optional<std::string> password;  // what the last BasicAuth presented
  int protocol_version = 5;             // mosquitto_client_protocol_version: 3 (MQTT 3.1), 4 (3.1.1) or 5
  int transport = mp_mqtt;              // mosquitto_client_protocol: mp_mqtt or mp_websockets
  std::string address = "127.0.0.1";    // mosquitto_client_address
  int keepalive = 60;                   // mosquitto_client_keepalive
  bool clean_start = true;              // mosquitto_client_clean_session
  int sub_count = 0;                    // mosquitto_client_sub_count
  bool connected = true;                // false after FakeBroker::Disconnect
};

namespace chat::harness {

// plugin_opt_<key> <value> lines of mosquitto.conf, in order.
using PluginOptions = std::vector<std::pair<std::string, std::string>>;

// One mosquitto_broker_publish / _copy call the broker accepted.
struct Publication {
  std::optional<std::string> client_id;  // the one target client; nullopt: every subscriber of `topic`
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  bool has_properties = false;  // properties are not decoded (and not freed: see README)
  int event = 0;                // MOSQ_EVT_* being handled when published; 0 outside any event (init, ...)
};

struct LogLine {
  int level = 0;  // MOSQ_LOG_*
  std::string text;
};

// One mosquitto_kick_client_by_clientid / _by_username call.
struct Kick {
  bool by_username = false;
  std::optional<std::string> name;  // the client id or username; nullopt: NULL was passed
  bool with_will = false;
};

// What MOSQ_EVT_MESSAGE left behind, read back the way the broker does after the callbacks.
struct MessageOutcome {
  int rc = MOSQ_ERR_SUCCESS;  // the first non-success callback answer, else MOSQ_ERR_SUCCESS
  std::string topic;          // possibly rewritten by a plugin
  std::string payload;        // possibly rewritten by a plugin
  bool retain = false;        // possibly cleared by a plugin
  std::optional<std::string> reason_string;  // set by a plugin (2.0.11 ignores it)
};

// Not thread-safe, like the broker: create it, load plugins and fire events from one thread. One
// FakeBroker may exist at a time (the exported broker functions find it through a process global).
class FakeBroker {
 public:
  FakeBroker();
  // Unloads every plugin (cleanup, then dlclose), as the broker does on exit.
  ~FakeBroker();
  FakeBroker(const FakeBroker&) = delete;
  FakeBroker& operator=(const FakeBroker&) = delete;

  // --- Plugins -------------------------------------------------------------------------------------
  // Loads the plugin at `path` the way 2.0.11 does: dlopen(RTLD_NOW | RTLD_GLOBAL), version negotiation
  // with {5, 4, 3, 2} (only 5 is supported here), then mosquitto_plugin_init with `options`. Returns
  // MOSQ_ERR_SUCCESS, init's own error code, or MOSQ_ERR_UNKNOWN when the library or an entry point is
  // missing (see last_load_error()). After a failed init the plugin is closed without cleanup (the real
  // broker exits); callbacks it left registered are dropped and reported in violations().
  int LoadPlugin(const std::string& path, const PluginOptions& options = {});
  // Runs every plugin's cleanup in load order, then dlcloses them. Callbacks a plugin left registered
  // are dropped and reported in violations(). Idempotent.
  void UnloadAll();
  std::size_t plugin_count() const { return plugins_.size(); }
  const std::string& last_load_error() const { return last_load_error_; }

  // Registered callbacks for `event` (all plugins); for MOSQ_EVT_CONTROL, one per topic.
  std::size_t CallbackCount(int event) const;
  bool HasControlCallback(const std::string& topic) const;

  // --- Clients -------------------------------------------------------------------------------------
  // A new connection object (the broker's context), owned by the FakeBroker and valid until it is
  // destroyed, even after Disconnect (so stale pointers stay readable in tests).
  mosquitto* AddClient(std::optional<std::string> client_id, int protocol_version = 5);

  // --- Events (each runs the registered callbacks in registration order) ----------------------------
  // MOSQ_EVT_BASIC_AUTH, as on CONNECT: sets client->username/password, then asks each callback; the
  // first answer other than MOSQ_ERR_PLUGIN_DEFER wins. Returns MOSQ_ERR_PLUGIN_DEFER when every
  // callback deferred or none is registered (the real broker then applies allow_anonymous).
  int BasicAuth(mosquitto* client, std::optional<std::string> username, std::optional<std::string> password);
  // MOSQ_EVT_ACL_CHECK, the plugins' answer only: the first answer other than MOSQ_ERR_PLUGIN_DEFER, or
  // MOSQ_ERR_PLUGIN_DEFER. `access` is MOSQ_ACL_READ / WRITE / SUBSCRIBE / UNSUBSCRIBE.
  int AclCheck(mosquitto* client, int access, const std::string& topic, const std::string& payload = "",
               int qos = 0, bool retain = false);
  // mosquitto_acl_check() of 2.0.11 as a whole: denies a client with no id, applies the broker's own
  // $SYS / $share rules, then the plugins; all deferring is a denial, no callback at all is a success.
  int BrokerAclCheck(mosquitto* client, int access, const std::string& topic, const std::string& payload = "",
                     int qos = 0, bool retain = false);
  // MOSQ_EVT_MESSAGE for an incoming PUBLISH (the WRITE check is not made: see ClientPublish). The topic
  // and payload are mosquitto_malloc'd (payload NUL-terminated); afterwards a replaced payload is freed
  // and the final topic and payload are freed, as 2.0.11 does. A replaced topic is NOT freed (2.0.11
  // does not either: the plugin must free the old one).
  // The plugin stores a request off the broker thread and publishes its reply from a later TICK: as
  // the broker's loop would, Message ticks (for up to 10 s) until something is published to the
  // sending client when the topic is a chat request that gets a reply.
  MessageOutcome Message(mosquitto* client, const std::string& topic, const std::string& payload, int qos = 1,
                         bool retain = false);
  // MOSQ_EVT_CONTROL for a PUBLISH on `topic` ($CONTROL/...): only a callback registered for that exact
  // topic runs. Returns its answer, or MOSQ_ERR_SUCCESS when there is none (as the broker, which then
  // just acknowledges). A reason_string the callback set is kept in last_reason_string() and freed.
  int Control(mosquitto* client, const std::string& topic, const std::string& payload, int qos = 1,
              bool retain = false);
  // The broker's path for an incoming PUBLISH: BrokerAclCheck(WRITE); a denial returns
  // MOSQ_ERR_ACL_DENIED; then a "$CONTROL/" topic goes to Control(), anything else to Message().
  MessageOutcome ClientPublish(mosquitto* client, const std::string& topic, const std::string& payload,
                               int qos = 1, bool retain = false);
  // MOSQ_EVT_DISCONNECT to every callback (reason -1, as 2.0.11 always passes); marks the client
  // disconnected. The object stays allocated.
  void Disconnect(mosquitto* client, int reason = -1);
  // MOSQ_EVT_TICK to every callback, with the time fields 0 as 2.0.11 leaves them.
  void Tick();
  // MOSQ_EVT_RELOAD (SIGHUP): options NULL; the first answer other than MOSQ_ERR_PLUGIN_DEFER wins.
  int Reload();

  // --- What the plugins did ------------------------------------------------------------------------
  const std::vector<Publication>& published() const { return published_; }
  // Returns what was published so far and forgets it.
  std::vector<Publication> TakePublished();
  const std::vector<LogLine>& logs() const { return logs_; }
  // True if some log line at `level` (or any level when -1) contains `text`.
  bool LogContains(const std::string& text, int level = -1) const;
  const std::vector<Kick>& kicks() const { return kicks_; }
  const std::optional<std::string>& last_reason_string() const { return last_reason_string_; }
  // Breaches of the plugin contract the harness noticed: an exception escaping a plugin function, a
  // broker function called from another thread, callbacks left registered after cleanup or a failed
  // init, a registration with an unknown plugin id. Tests should expect it to stay empty.
  std::vector<std::string> violations() const;
  // Also print log lines to stderr (default: on when the environment has FAKE_BROKER_LOG=1).
  void set_echo_log(bool echo) { echo_log_ = echo; }

  // --- Called by the exported broker functions (fake_broker.cc); not for tests -----------------------
  struct PluginRecord;
  struct CallbackRecord {
    mosquitto_plugin_id_t* owner = nullptr;
    int event = 0;
    MOSQ_FUNC_generic_callback function = nullptr;
    std::string control_topic;  // MOSQ_EVT_CONTROL only
    void* userdata = nullptr;
  };
  int RegisterCallback(mosquitto_plugin_id_t* identifier, int event, MOSQ_FUNC_generic_callback function,
                       const void* event_data, void* userdata);
  int UnregisterCallback(mosquitto_plugin_id_t* identifier, int event, MOSQ_FUNC_generic_callback function,
                         const void* event_data);
  int RecordPublish(const char* client_id, const char* topic, int payloadlen, void* payload, int qos, bool retain,
                    mosquitto_property* properties);
  void RecordLog(int level, std::string text);
  int RecordKick(bool by_username, const char* name, bool with_will);
  // False (and a violation recorded) when called off the thread that created the FakeBroker.
  bool CheckThread(const char* function);
  void AddViolation(std::string what);

 private:
  MessageOutcome RunMessageCallbacks(mosquitto* client, const std::string& topic, const std::string& payload, int qos,
                                     bool retain);
  static bool ExpectsReply(const std::string& topic);
  void TickUntilPublishedTo(const std::string& client_id, std::size_t published_before);
  // Calls `function` for `event` with `data`, catching what a plugin throws (recorded as a violation;
  // returns MOSQ_ERR_UNKNOWN then).
  int Invoke(const CallbackRecord& callback, void* data);
  std::vector<CallbackRecord> CallbacksFor(int event) const;
  void DropCallbacksOf(mosquitto_plugin_id_t* owner, const char* when);
  bool IsLoadedPlugin(const mosquitto_plugin_id_t* identifier) const;

  std::thread::id broker_thread_;
  std::vector<std::unique_ptr<PluginRecord>> plugins_;  // in load order
  std::vector<CallbackRecord> callbacks_;
  std::vector<std::unique_ptr<mosquitto>> clients_;
  std::vector<Publication> published_;
  std::vector<LogLine> logs_;
  std::vector<Kick> kicks_;
  std::optional<std::string> last_reason_string_;
  std::string last_load_error_;
  int current_event_ = 0;
  bool echo_log_ = false;
  mutable std::mutex violations_mutex_;  // violations may be reported from a plugin's own threads
  std::vector<std::string> violations_;
};

}  // namespace chat::harness
