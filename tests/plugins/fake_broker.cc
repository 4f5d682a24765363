#include "tests/plugins/fake_broker.h"

#include "core/topic_format.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

// The broker functions below must be exported from the test executable (ENABLE_EXPORTS) so that a
// dlopen'ed plugin binds its undefined mosquitto_* symbols to them; the project hides symbols by default.
#define FAKE_BROKER_EXPORT __attribute__((visibility("default")))

// The broker's handle for one loaded plugin, opaque to plugins (2.0.11 keeps the listener in it).
struct mosquitto_plugin_id_t {
  chat::harness::FakeBroker* broker = nullptr;
  std::string path;
};

namespace chat::harness {

struct FakeBroker::PluginRecord {
  using CleanupFunction = int (*)(void*, mosquitto_opt*, int);

  mosquitto_plugin_id_t id;
  void* library = nullptr;
  void* user_data = nullptr;
  CleanupFunction cleanup = nullptr;
  // The option array passed to init and cleanup; the strings live as long as the plugin, as in the broker.
  std::vector<mosquitto_opt> options;

  ~PluginRecord() {
    for (mosquitto_opt& option : options) {
      std::free(option.key);
      std::free(option.value);
    }
  }
  mosquitto_opt* option_array() { return options.empty() ? nullptr : options.data(); }
  int option_count() const { return static_cast<int>(options.size()); }
};

namespace {

FakeBroker* g_broker = nullptr;  // the one live FakeBroker, found by the exported broker functions

FakeBroker* Current(const char* function) {
  if (g_broker == nullptr) std::fprintf(stderr, "FakeBroker: %s called while no FakeBroker exists\n", function);
  return g_broker;
}

std::string EventName(int event) {
  switch (event) {
    case MOSQ_EVT_RELOAD: return "RELOAD";
    case MOSQ_EVT_ACL_CHECK: return "ACL_CHECK";
    case MOSQ_EVT_BASIC_AUTH: return "BASIC_AUTH";
    case MOSQ_EVT_EXT_AUTH_START: return "EXT_AUTH_START";
    case MOSQ_EVT_EXT_AUTH_CONTINUE: return "EXT_AUTH_CONTINUE";
    case MOSQ_EVT_CONTROL: return "CONTROL";
    case MOSQ_EVT_MESSAGE: return "MESSAGE";
    case MOSQ_EVT_PSK_KEY: return "PSK_KEY";
    case MOSQ_EVT_TICK: return "TICK";
    case MOSQ_EVT_DISCONNECT: return "DISCONNECT";
    default: return "event " + std::to_string(event);
  }
}

bool IsKnownEvent(int event) { return event >= MOSQ_EVT_RELOAD && event <= MOSQ_EVT_DISCONNECT; }

// A malloc'd copy with a NUL after the data, as the broker stores topics and payloads.
char* MallocCopy(const std::string& text) {
  char* copy = static_cast<char*>(std::malloc(text.size() + 1));
  if (copy == nullptr) std::abort();
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

// The checks control__register_callback / _unregister_callback make on a $CONTROL topic.
int CheckControlTopic(const char* topic, bool registering) {
  if (topic == nullptr) return MOSQ_ERR_INVAL;
  std::size_t length = std::strlen(topic);
  if (length == 0 || length > 65535) return MOSQ_ERR_INVAL;
  if (std::strncmp(topic, "$CONTROL/", std::strlen("$CONTROL/")) != 0) return MOSQ_ERR_INVAL;
  if (registering && length < std::strlen("$CONTROL/A/v1")) return MOSQ_ERR_INVAL;
  return MOSQ_ERR_SUCCESS;
}

// acl__check_dollar() of 2.0.11.
int CheckDollarTopic(const std::string& topic, int access) {
  if (topic.empty() || topic[0] != '$') return MOSQ_ERR_SUCCESS;
  if (topic.compare(0, 4, "$SYS") == 0) {
    if (access != MOSQ_ACL_WRITE) return MOSQ_ERR_SUCCESS;
    // Only bridge state topics, "$SYS/broker/connection/+/state", may be written.
    const std::string prefix = "$SYS/broker/connection/";
    const std::string suffix = "/state";
    if (topic.size() > prefix.size() + suffix.size() && topic.compare(0, prefix.size(), prefix) == 0 &&
        topic.compare(topic.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string middle = topic.substr(prefix.size(), topic.size() - prefix.size() - suffix.size());
      if (!middle.empty() && middle.find_first_of("/+#") == std::string::npos) return MOSQ_ERR_SUCCESS;
    }
    return MOSQ_ERR_ACL_DENIED;
  }
  if (topic.compare(0, 6, "$share") == 0) {
    return access == MOSQ_ACL_SUBSCRIBE || access == MOSQ_ACL_UNSUBSCRIBE ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
  }
  return MOSQ_ERR_SUCCESS;
}

// Sets `slot` to the event being handled for the lifetime of the guard.
class EventScope {
 public:
  EventScope(int* slot, int event) : slot_(slot), saved_(*slot) { *slot = event; }
  ~EventScope() { *slot_ = saved_; }
  EventScope(const EventScope&) = delete;
  EventScope& operator=(const EventScope&) = delete;

 private:
  int* slot_;
  int saved_;
};

template <typename Function>
Function LookUp(void* library, const char* name) {
  return reinterpret_cast<Function>(dlsym(library, name));
}

}  // namespace

FakeBroker::FakeBroker() : broker_thread_(std::this_thread::get_id()) {
  if (g_broker != nullptr) {
    std::fprintf(stderr, "FakeBroker: only one FakeBroker may exist at a time\n");
    std::abort();
  }
  const char* echo = std::getenv("FAKE_BROKER_LOG");
  echo_log_ = echo != nullptr && std::strcmp(echo, "1") == 0;
  g_broker = this;
}

FakeBroker::~FakeBroker() {
  UnloadAll();
  g_broker = nullptr;
}

// --- Plugins ---------------------------------------------------------------------------------------

namespace {

// dlclose, as the broker does, except under LeakSanitizer: it checks at exit, when an unloaded plugin's
// static and thread-local memory is gone, so what RocksDB allocated for objects the plugin held there
// would look leaked, with stacks through an unknown module.
void Unload(void* library) {
#if defined(__SANITIZE_ADDRESS__)
  (void)library;
#else
  dlclose(library);
#endif
}

}  // namespace

int FakeBroker::LoadPlugin(const std::string& path, const PluginOptions& options) {
  last_load_error_.clear();
  RecordLog(MOSQ_LOG_INFO, "Loading plugin: " + path);
  auto fail = [&](void* library, std::string why) {
    last_load_error_ = std::move(why);
    RecordLog(MOSQ_LOG_ERR, "Error: " + last_load_error_);
    if (library != nullptr) Unload(library);
    return MOSQ_ERR_UNKNOWN;
  };

  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);  // LIB_LOAD of 2.0.11
  if (library == nullptr) {
    const char* error = dlerror();
    return fail(nullptr, "Unable to load auth plugin \"" + path + "\": " + (error != nullptr ? error : "?"));
  }
  auto version_function = LookUp<int (*)(int, const int*)>(library, "mosquitto_plugin_version");
  if (version_function == nullptr) {
    if (dlsym(library, "mosquitto_auth_plugin_version") != nullptr) {
      return fail(library, "legacy auth plugin (API 2-4): FakeBroker supports plugin API 5 only");
    }
    return fail(library, "Unable to load auth plugin function mosquitto_auth_plugin_version() or "
                         "mosquitto_plugin_version().");
  }
  const int versions[] = {5, 4, 3, 2};
  int version = -1;
  try {
    version = version_function(4, versions);
  } catch (...) {
    AddViolation("exception escaped mosquitto_plugin_version of " + path);
    return fail(library, "mosquitto_plugin_version threw");
  }
  if (version != 5) {
    return fail(library, "Unsupported auth plugin version (got " + std::to_string(version) + ", expected 5).");
  }
  auto init = LookUp<int (*)(mosquitto_plugin_id_t*, void**, mosquitto_opt*, int)>(library, "mosquitto_plugin_init");
  if (init == nullptr) return fail(library, "Unable to load plugin function mosquitto_plugin_init().");
  auto cleanup = LookUp<PluginRecord::CleanupFunction>(library, "mosquitto_plugin_cleanup");
  if (cleanup == nullptr) return fail(library, "Unable to load plugin function mosquitto_plugin_cleanup().");

  auto record = std::make_unique<PluginRecord>();
  record->id.broker = this;
  record->id.path = path;
  record->library = library;
  record->cleanup = cleanup;
  for (const auto& [key, value] : options) {
    record->options.push_back(mosquitto_opt{MallocCopy(key), MallocCopy(value)});
  }
  PluginRecord* plugin = record.get();
  plugins_.push_back(std::move(record));  // listed before init, so init's registrations are accepted

  int rc = MOSQ_ERR_UNKNOWN;
  try {
    rc = init(&plugin->id, &plugin->user_data, plugin->option_array(), plugin->option_count());
  } catch (const std::exception& e) {
    AddViolation("exception escaped mosquitto_plugin_init of " + path + ": " + e.what() +
                 " (the broker would abort)");
  } catch (...) {
    AddViolation("exception escaped mosquitto_plugin_init of " + path + " (the broker would abort)");
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    last_load_error_ = "Plugin returned " + std::to_string(rc) + " when initialising.";
    RecordLog(MOSQ_LOG_ERR, "Error: " + last_load_error_);
    // The real broker exits here without calling cleanup; callbacks left behind would point into
    // unloaded code.
    DropCallbacksOf(&plugin->id, "after its init failed");
    plugins_.pop_back();
    Unload(library);
  }
  return rc;
}

void FakeBroker::UnloadAll() {
  // In load order, each plugin's cleanup then dlclose, as security__module_cleanup_single does.
  for (auto& plugin : plugins_) {
    try {
      plugin->cleanup(plugin->user_data, plugin->option_array(), plugin->option_count());
    } catch (...) {
      AddViolation("exception escaped mosquitto_plugin_cleanup of " + plugin->id.path +
                   " (the broker would abort)");
    }
    DropCallbacksOf(&plugin->id, "after its cleanup");
    Unload(plugin->library);
  }
  plugins_.clear();
}

std::size_t FakeBroker::CallbackCount(int event) const {
  return static_cast<std::size_t>(std::count_if(callbacks_.begin(), callbacks_.end(),
                                                [event](const CallbackRecord& c) { return c.event == event; }));
}

bool FakeBroker::HasControlCallback(const std::string& topic) const {
  return std::any_of(callbacks_.begin(), callbacks_.end(), [&](const CallbackRecord& c) {
    return c.event == MOSQ_EVT_CONTROL && c.control_topic == topic;
  });
}

void FakeBroker::DropCallbacksOf(mosquitto_plugin_id_t* owner, const char* when) {
  std::string events;
  auto left = std::remove_if(callbacks_.begin(), callbacks_.end(), [&](const CallbackRecord& c) {
    if (c.owner != owner) return false;
    events += (events.empty() ? "" : ", ") + EventName(c.event);
    return true;
  });
  if (left == callbacks_.end()) return;
  callbacks_.erase(left, callbacks_.end());
  AddViolation(owner->path + " left callbacks registered " + when + ": " + events);
}

bool FakeBroker::IsLoadedPlugin(const mosquitto_plugin_id_t* identifier) const {
  return std::any_of(plugins_.begin(), plugins_.end(),
                     [identifier](const std::unique_ptr<PluginRecord>& p) { return &p->id == identifier; });
}

int FakeBroker::RegisterCallback(mosquitto_plugin_id_t* identifier, int event, MOSQ_FUNC_generic_callback function,
                                 const void* event_data, void* userdata) {
  CheckThread("mosquitto_callback_register");
  if (function == nullptr) return MOSQ_ERR_INVAL;
  if (identifier == nullptr || !IsLoadedPlugin(identifier)) {
    AddViolation("mosquitto_callback_register with an identifier the broker did not hand out");
    return MOSQ_ERR_INVAL;  // 2.0.11 would dereference it
  }
  if (!IsKnownEvent(event)) return MOSQ_ERR_NOT_SUPPORTED;
  CallbackRecord record{identifier, event, function, "", userdata};
  if (event == MOSQ_EVT_CONTROL) {
    const char* topic = static_cast<const char*>(event_data);
    if (int rc = CheckControlTopic(topic, /*registering=*/true); rc != MOSQ_ERR_SUCCESS) return rc;
    if (HasControlCallback(topic)) return MOSQ_ERR_ALREADY_EXISTS;
    record.control_topic = topic;  // copied, as the broker strdup's it
  } else {
    bool exists = std::any_of(callbacks_.begin(), callbacks_.end(), [&](const CallbackRecord& c) {
      return c.event == event && c.function == function;
    });
    if (exists) return MOSQ_ERR_ALREADY_EXISTS;
  }
  callbacks_.push_back(std::move(record));
  return MOSQ_ERR_SUCCESS;
}

int FakeBroker::UnregisterCallback(mosquitto_plugin_id_t* identifier, int event, MOSQ_FUNC_generic_callback function,
                                   const void* event_data) {
  CheckThread("mosquitto_callback_unregister");
  if (identifier == nullptr || function == nullptr) return MOSQ_ERR_INVAL;
  if (!IsKnownEvent(event)) return MOSQ_ERR_NOT_SUPPORTED;
  std::vector<CallbackRecord>::iterator found;
  if (event == MOSQ_EVT_CONTROL) {
    const char* topic = static_cast<const char*>(event_data);
    if (int rc = CheckControlTopic(topic, /*registering=*/false); rc != MOSQ_ERR_SUCCESS) return rc;
    found = std::find_if(callbacks_.begin(), callbacks_.end(), [&](const CallbackRecord& c) {
      return c.event == MOSQ_EVT_CONTROL && c.control_topic == topic && c.function == function;
    });
  } else {
    found = std::find_if(callbacks_.begin(), callbacks_.end(),
                         [&](const CallbackRecord& c) { return c.event == event && c.function == function; });
  }
  if (found == callbacks_.end()) return MOSQ_ERR_NOT_FOUND;
  callbacks_.erase(found);
  return MOSQ_ERR_SUCCESS;
}

std::vector<FakeBroker::CallbackRecord> FakeBroker::CallbacksFor(int event) const {
  // A copy: a callback may (un)register callbacks while the list is walked.
  std::vector<CallbackRecord> out;
  for (const CallbackRecord& c : callbacks_) {
    if (c.event == event) out.push_back(c);
  }
  return out;
}

int FakeBroker::Invoke(const CallbackRecord& callback, void* data) {
  EventScope scope(&current_event_, callback.event);
  try {
    return callback.function(callback.event, data, callback.userdata);
  } catch (const std::exception& e) {
    AddViolation("exception escaped the " + EventName(callback.event) + " callback of " + callback.owner->path +
                 ": " + e.what() + " (the broker would abort)");
  } catch (...) {
    AddViolation("exception escaped the " + EventName(callback.event) + " callback of " + callback.owner->path +
                 " (the broker would abort)");
  }
  return MOSQ_ERR_UNKNOWN;
}

// --- Clients and events ----------------------------------------------------------------------------

mosquitto* FakeBroker::AddClient(std::optional<std::string> client_id, int protocol_version) {
  auto client = std::make_unique<mosquitto>();
  client->id = std::move(client_id);
  client->protocol_version = protocol_version;
  clients_.push_back(std::move(client));
  return clients_.back().get();
}

int FakeBroker::BasicAuth(mosquitto* client, std::optional<std::string> username,
                          std::optional<std::string> password) {
  client->username = std::move(username);
  client->password = std::move(password);
  int rc = MOSQ_ERR_PLUGIN_DEFER;
  for (const CallbackRecord& callback : CallbacksFor(MOSQ_EVT_BASIC_AUTH)) {
    mosquitto_evt_basic_auth data{};
    data.client = client;
    data.username = client->username ? client->username->data() : nullptr;
    data.password = client->password ? client->password->data() : nullptr;
    rc = Invoke(callback, &data);
    if (rc != MOSQ_ERR_PLUGIN_DEFER) return rc;
  }
  return rc;
}

int FakeBroker::AclCheck(mosquitto* client, int access, const std::string& topic, const std::string& payload,
                         int qos, bool retain) {
  int rc = MOSQ_ERR_PLUGIN_DEFER;
  for (const CallbackRecord& callback : CallbacksFor(MOSQ_EVT_ACL_CHECK)) {
    mosquitto_evt_acl_check data{};
    data.client = client;
    data.access = access;
    data.topic = topic.c_str();
    data.payload = payload.data();
    data.payloadlen = static_cast<uint32_t>(payload.size());
    data.qos = static_cast<uint8_t>(qos);
    data.retain = retain;
    data.properties = nullptr;
    rc = Invoke(callback, &data);
    if (rc != MOSQ_ERR_PLUGIN_DEFER) return rc;
  }
  return rc;
}

int FakeBroker::BrokerAclCheck(mosquitto* client, int access, const std::string& topic, const std::string& payload,
                               int qos, bool retain) {
  if (!client->id) return MOSQ_ERR_ACL_DENIED;
  if (int rc = CheckDollarTopic(topic, access); rc != MOSQ_ERR_SUCCESS) return rc;
  if (CallbackCount(MOSQ_EVT_ACL_CHECK) == 0) return MOSQ_ERR_SUCCESS;
  int rc = AclCheck(client, access, topic, payload, qos, retain);
  return rc == MOSQ_ERR_PLUGIN_DEFER ? MOSQ_ERR_ACL_DENIED : rc;
}

MessageOutcome FakeBroker::Message(mosquitto* client, const std::string& topic, const std::string& payload, int qos,
                                   bool retain) {
  std::size_t published_before = published_.size();
  MessageOutcome outcome = RunMessageCallbacks(client, topic, payload, qos, retain);
  if (outcome.rc == MOSQ_ERR_SUCCESS && client->id && ExpectsReply(topic)) {
    TickUntilPublishedTo(*client->id, published_before);
  }
  return outcome;
}

bool FakeBroker::ExpectsReply(const std::string& topic) {
  chat::core::RequestOp op = chat::core::ParseRequestTopic(topic);
  return op != chat::core::RequestOp::kUnknown && op != chat::core::RequestOp::kHeartbeat;
}

void FakeBroker::TickUntilPublishedTo(const std::string& client_id, std::size_t published_before) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto arrived = [&] {
    return std::any_of(published_.begin() + static_cast<std::ptrdiff_t>(std::min(published_before, published_.size())),
                       published_.end(), [&](const Publication& p) { return p.client_id == client_id; });
  };
  while (!arrived() && std::chrono::steady_clock::now() < deadline) {
    Tick();
    if (!arrived()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

MessageOutcome FakeBroker::RunMessageCallbacks(mosquitto* client, const std::string& topic, const std::string& payload,
                                               int qos, bool retain) {
  MessageOutcome outcome;
  last_reason_string_.reset();
  std::vector<CallbackRecord> callbacks = CallbacksFor(MOSQ_EVT_MESSAGE);
  if (callbacks.empty()) {
    outcome.topic = topic;
    outcome.payload = payload;
    outcome.retain = retain;
    return outcome;
  }
  char* stored_payload = MallocCopy(payload);
  mosquitto_evt_message data{};
  data.client = client;
  data.topic = MallocCopy(topic);
  data.payload = stored_payload;
  data.payloadlen = static_cast<uint32_t>(payload.size());
  data.qos = static_cast<uint8_t>(qos);
  data.retain = retain;
  data.properties = nullptr;
  int rc = MOSQ_ERR_SUCCESS;
  for (const CallbackRecord& callback : callbacks) {
    rc = Invoke(callback, &data);
    if (rc != MOSQ_ERR_SUCCESS) break;
  }
  // Read back as plugin__handle_message does, then free as db__msg_store_free would.
  outcome.rc = rc;
  if (data.topic != nullptr) {
    outcome.topic = data.topic;
  } else {
    AddViolation("a MESSAGE callback set topic to NULL");
  }
  if (data.payload != stored_payload) std::free(stored_payload);
  if (data.payload != nullptr) outcome.payload.assign(static_cast<const char*>(data.payload), data.payloadlen);
  outcome.retain = data.retain;
  if (data.reason_string != nullptr) {
    outcome.reason_string = data.reason_string;
    last_reason_string_ = outcome.reason_string;
    std::free(data.reason_string);
  }
  std::free(data.topic);
  std::free(data.payload);
  return outcome;
}

int FakeBroker::Control(mosquitto* client, const std::string& topic, const std::string& payload, int qos,
                        bool retain) {
  last_reason_string_.reset();
  for (const CallbackRecord& callback : CallbacksFor(MOSQ_EVT_CONTROL)) {
    if (callback.control_topic != topic) continue;
    char* stored_payload = MallocCopy(payload);
    mosquitto_evt_control data{};
    data.client = client;
    data.topic = topic.c_str();
    data.payload = stored_payload;
    data.payloadlen = static_cast<uint32_t>(payload.size());
    data.qos = static_cast<uint8_t>(qos);
    data.retain = retain;
    data.properties = nullptr;
    data.reason_code = 0;  // MQTT_RC_SUCCESS
    data.reason_string = nullptr;
    int rc = Invoke(callback, &data);
    if (data.reason_string != nullptr) {
      last_reason_string_ = data.reason_string;
      std::free(data.reason_string);
    }
    std::free(stored_payload);
    return rc;
  }
  return MOSQ_ERR_SUCCESS;  // no handler: the broker just acknowledges
}

MessageOutcome FakeBroker::ClientPublish(mosquitto* client, const std::string& topic, const std::string& payload,
                                         int qos, bool retain) {
  MessageOutcome outcome;
  outcome.topic = topic;
  outcome.payload = payload;
  outcome.retain = retain;
  outcome.rc = BrokerAclCheck(client, MOSQ_ACL_WRITE, topic, payload, qos, retain);
  if (outcome.rc != MOSQ_ERR_SUCCESS) return outcome;
  if (topic.compare(0, 9, "$CONTROL/") == 0) {
    outcome.rc = Control(client, topic, payload, qos, retain);
    return outcome;
  }
  return Message(client, topic, payload, qos, retain);
}

void FakeBroker::Disconnect(mosquitto* client, int reason) {
  for (const CallbackRecord& callback : CallbacksFor(MOSQ_EVT_DISCONNECT)) {
    mosquitto_evt_disconnect data{};
    data.client = client;
    data.reason = reason;
    Invoke(callback, &data);
  }
  client->connected = false;
}

void FakeBroker::Tick() {
  for (const CallbackRecord& callback : CallbacksFor(MOSQ_EVT_TICK)) {
    mosquitto_evt_tick data{};
    Invoke(callback, &data);
  }
}

int FakeBroker::Reload() {
  for (const CallbackRecord& callback : CallbacksFor(MOSQ_EVT_RELOAD)) {
    mosquitto_evt_reload data{};
    data.options = nullptr;
    data.option_count = 0;
    int rc = Invoke(callback, &data);
    if (rc != MOSQ_ERR_PLUGIN_DEFER) return rc;
  }
  return MOSQ_ERR_SUCCESS;
}

// --- Records ---------------------------------------------------------------------------------------

std::vector<Publication> FakeBroker::TakePublished() {
  std::vector<Publication> out;
  out.swap(published_);
  return out;
}

bool FakeBroker::LogContains(const std::string& text, int level) const {
  return std::any_of(logs_.begin(), logs_.end(), [&](const LogLine& line) {
    return (level == -1 || line.level == level) && line.text.find(text) != std::string::npos;
  });
}

std::vector<std::string> FakeBroker::violations() const {
  std::lock_guard<std::mutex> lock(violations_mutex_);
  return violations_;
}

void FakeBroker::AddViolation(std::string what) {
  std::lock_guard<std::mutex> lock(violations_mutex_);
  if (echo_log_) std::fprintf(stderr, "FakeBroker violation: %s\n", what.c_str());
  violations_.push_back(std::move(what));
}

bool FakeBroker::CheckThread(const char* function) {
  if (std::this_thread::get_id() == broker_thread_) return true;
  AddViolation(std::string(function) + " called from a thread other than the broker's");
  return false;
}

int FakeBroker::RecordPublish(const char* client_id, const char* topic, int payloadlen, void* payload, int qos,
                              bool retain, mosquitto_property* properties) {
  // The argument checks of 2.0.11; on failure the caller keeps ownership of the payload.
  if (topic == nullptr || payloadlen < 0 || (payloadlen > 0 && payload == nullptr) || qos < 0 || qos > 2) {
    return MOSQ_ERR_INVAL;
  }
  if (CheckThread("mosquitto_broker_publish")) {
    Publication publication;
    if (client_id != nullptr) publication.client_id = client_id;
    publication.topic = topic;
    if (payload != nullptr) publication.payload.assign(static_cast<const char*>(payload), payloadlen);
    publication.qos = qos;
    publication.retain = retain;
    publication.has_properties = properties != nullptr;
    publication.event = current_event_;
    published_.push_back(std::move(publication));
  }
  // The broker owns the payload (and properties) now and frees them once delivered.
  std::free(payload);
  if (properties != nullptr) {
    // Only possible when libmosquitto (which has it) is loaded; otherwise the properties leak.
    using FreeAll = void (*)(mosquitto_property**);
    if (auto free_all = reinterpret_cast<FreeAll>(dlsym(RTLD_DEFAULT, "mosquitto_property_free_all"))) {
      free_all(&properties);
    }
  }
  return MOSQ_ERR_SUCCESS;
}

void FakeBroker::RecordLog(int level, std::string text) {
  if (echo_log_) std::fprintf(stderr, "[broker log %d] %s\n", level, text.c_str());
  if (!CheckThread("mosquitto_log_printf")) return;
  logs_.push_back(LogLine{level, std::move(text)});
}

int FakeBroker::RecordKick(bool by_username, const char* name, bool with_will) {
  CheckThread(by_username ? "mosquitto_kick_client_by_username" : "mosquitto_kick_client_by_clientid");
  Kick kick;
  kick.by_username = by_username;
  if (name != nullptr) kick.name = name;
  kick.with_will = with_will;
  kicks_.push_back(kick);
  if (by_username || name == nullptr) return MOSQ_ERR_SUCCESS;
  bool known = std::any_of(clients_.begin(), clients_.end(), [&](const std::unique_ptr<mosquitto>& c) {
    return c->connected && c->id && *c->id == name;
  });
  return known ? MOSQ_ERR_SUCCESS : MOSQ_ERR_NOT_FOUND;
}

}  // namespace chat::harness

// --- The broker functions of mosquitto_broker.h, for the plugin to call ----------------------------

using chat::harness::Current;
using chat::harness::FakeBroker;

namespace {

// Client accessors are broker functions too: only the broker thread may call them.
void CheckClientAccess(const char* function) {
  if (FakeBroker* broker = chat::harness::g_broker) broker->CheckThread(function);
}

}  // namespace

extern "C" {

FAKE_BROKER_EXPORT int mosquitto_callback_register(mosquitto_plugin_id_t* identifier, int event,
                                                   MOSQ_FUNC_generic_callback cb_func, const void* event_data,
                                                   void* userdata) {
  FakeBroker* broker = Current(__func__);
  return broker != nullptr ? broker->RegisterCallback(identifier, event, cb_func, event_data, userdata)
                           : MOSQ_ERR_INVAL;
}

FAKE_BROKER_EXPORT int mosquitto_callback_unregister(mosquitto_plugin_id_t* identifier, int event,
                                                     MOSQ_FUNC_generic_callback cb_func, const void* event_data) {
  FakeBroker* broker = Current(__func__);
  return broker != nullptr ? broker->UnregisterCallback(identifier, event, cb_func, event_data) : MOSQ_ERR_INVAL;
}

FAKE_BROKER_EXPORT void* mosquitto_calloc(size_t nmemb, size_t size) { return std::calloc(nmemb, size); }
FAKE_BROKER_EXPORT void mosquitto_free(void* mem) { std::free(mem); }
FAKE_BROKER_EXPORT void* mosquitto_malloc(size_t size) { return std::malloc(size); }
FAKE_BROKER_EXPORT void* mosquitto_realloc(void* ptr, size_t size) { return std::realloc(ptr, size); }
FAKE_BROKER_EXPORT char* mosquitto_strdup(const char* s) { return strdup(s); }

FAKE_BROKER_EXPORT void mosquitto_log_printf(int level, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  int length = std::vsnprintf(nullptr, 0, fmt, args);
  va_end(args);
  std::string text(length > 0 ? static_cast<std::size_t>(length) : 0, '\0');
  if (length > 0) std::vsnprintf(text.data(), text.size() + 1, fmt, again);
  va_end(again);
  if (FakeBroker* broker = Current(__func__)) {
    broker->RecordLog(level, std::move(text));
  } else {
    std::fprintf(stderr, "[broker log %d] %s\n", level, text.c_str());
  }
}

FAKE_BROKER_EXPORT const char* mosquitto_client_address(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr ? client->address.c_str() : nullptr;
}

FAKE_BROKER_EXPORT bool mosquitto_client_clean_session(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr ? client->clean_start : true;
}

FAKE_BROKER_EXPORT const char* mosquitto_client_id(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr && client->id ? client->id->c_str() : nullptr;
}

FAKE_BROKER_EXPORT int mosquitto_client_keepalive(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr ? client->keepalive : -1;
}

FAKE_BROKER_EXPORT void* mosquitto_client_certificate(const struct mosquitto* /*client*/) {
  CheckClientAccess(__func__);
  return nullptr;  // no TLS here
}

FAKE_BROKER_EXPORT int mosquitto_client_protocol(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr ? client->transport : mp_mqtt;
}

FAKE_BROKER_EXPORT int mosquitto_client_protocol_version(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr ? client->protocol_version : 0;
}

FAKE_BROKER_EXPORT int mosquitto_client_sub_count(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr ? client->sub_count : 0;
}

FAKE_BROKER_EXPORT const char* mosquitto_client_username(const struct mosquitto* client) {
  CheckClientAccess(__func__);
  return client != nullptr && client->username ? client->username->c_str() : nullptr;
}

FAKE_BROKER_EXPORT int mosquitto_set_username(struct mosquitto* client, const char* username) {
  CheckClientAccess(__func__);
  if (client == nullptr) return MOSQ_ERR_INVAL;
  if (username != nullptr) {
    client->username = username;
  } else {
    client->username.reset();
  }
  return MOSQ_ERR_SUCCESS;
}

FAKE_BROKER_EXPORT int mosquitto_kick_client_by_clientid(const char* clientid, bool with_will) {
  FakeBroker* broker = Current(__func__);
  return broker != nullptr ? broker->RecordKick(false, clientid, with_will) : MOSQ_ERR_NOT_FOUND;
}

FAKE_BROKER_EXPORT int mosquitto_kick_client_by_username(const char* username, bool with_will) {
  FakeBroker* broker = Current(__func__);
  return broker != nullptr ? broker->RecordKick(true, username, with_will) : MOSQ_ERR_SUCCESS;
}

FAKE_BROKER_EXPORT int mosquitto_broker_publish(const char* clientid, const char* topic, int payloadlen,
                                                void* payload, int qos, bool retain,
                                                mosquitto_property* properties) {
  FakeBroker* broker = Current(__func__);
  if (broker == nullptr) return MOSQ_ERR_INVAL;
  return broker->RecordPublish(clientid, topic, payloadlen, payload, qos, retain, properties);
}

FAKE_BROKER_EXPORT int mosquitto_broker_publish_copy(const char* clientid, const char* topic, int payloadlen,
                                                     const void* payload, int qos, bool retain,
                                                     mosquitto_property* properties) {
  if (topic == nullptr || payloadlen < 0 || (payloadlen > 0 && payload == nullptr) || qos < 0 || qos > 2) {
    return MOSQ_ERR_INVAL;
  }
  void* copy = std::calloc(1, static_cast<std::size_t>(payloadlen) + 1);
  if (copy == nullptr) return MOSQ_ERR_NOMEM;
  if (payloadlen > 0) std::memcpy(copy, payload, static_cast<std::size_t>(payloadlen));
  int rc = mosquitto_broker_publish(clientid, topic, payloadlen, copy, qos, retain, properties);
  if (rc != MOSQ_ERR_SUCCESS) std::free(copy);
  return rc;
}

}  // extern "C"
