#include "harness/broker_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "config/mosquitto_conf.h"
#include "config/server_config.h"
#include "core/account_service.h"
#include "core/resume_tokens.h"
#include "storage/rocksdb_store.h"

namespace chat::harness {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (std::size_t at = text->find(from); at != std::string::npos; at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

bool Accepts(int port) {
  int fd = ConnectToLoopback(port);
  if (fd < 0) return false;
  close(fd);
  return true;
}

std::string CurrentUserName() {
  // The broker drops to this account; running as the current one keeps the temporary folder writable.
  const passwd* entry = getpwuid(geteuid());
  return entry != nullptr ? entry->pw_name : "root";
}

}  // namespace

std::string PluginPath() { return CHAT_PLUGIN_PATH; }
std::string SourceConfigDir() { return CHAT_SOURCE_DIR "/config"; }

BrokerProcess::BrokerProcess(BrokerOptions options) : ServerProcess("chat-broker"), options_(std::move(options)) {
  PickPorts();
  WriteConfigs();
}

void BrokerProcess::PickPorts() {
  mqtt_port_ = FreeLoopbackPort();
  do {
    ws_port_ = FreeLoopbackPort();
  } while (ws_port_ == mqtt_port_);
}

BrokerProcess::~BrokerProcess() {
  if (running()) Stop();
}

void BrokerProcess::WriteConfigs() {
  std::ofstream chat(chat_config_path());
  std::map<std::string, std::string> auth = {{"pbkdf2_iterations", "1000"},
                                             {"inline_hash_rounds_per_second", "100000000"}};
  for (const auto& [key, value] : options_.auth) auth[key] = value;
  chat << "data_dir: " << data_dir() << "\nauth:\n";
  for (const auto& [key, value] : auth) chat << "  " << key << ": " << value << "\n";
  if (!options_.extra_yaml.empty()) chat << options_.extra_yaml << "\n";
  chat.close();
  WriteMosquittoConf();
}

void BrokerProcess::WriteMosquittoConf() {
  // The same generator as run-server.sh's; the ports are the harness's own (chat.yaml names none, so
  // a test may rewrite it), on loopback.
  // A test's deliberately broken chat.yaml gets the default listeners: the plugin refuses the file itself.
  auto loaded = config::LoadServerConfig(chat_config_path());
  config::ServerConfig chat = loaded.ok() ? *loaded : config::ServerConfig{};
  chat.listeners.address = "127.0.0.1";
  chat.listeners.mqtt_port = static_cast<std::uint32_t>(mqtt_port_);
  chat.listeners.websockets_port = static_cast<std::uint32_t>(ws_port_);
  auto generated = config::MosquittoConf(ReadFile(SourceConfigDir() + "/mosquitto.conf.in"), chat,
                                         {PluginPath(), chat_config_path(), CurrentUserName()});
  std::string conf = generated.ok() ? *generated : "# cannot generate: " + generated.status().ToString() + "\n";
  if (options_.max_connections > 0) {
    ReplaceAll(&conf, "max_connections 10000", "max_connections " + std::to_string(options_.max_connections));
  }
  if (!options_.with_plugin) {
    std::size_t plugin_line = conf.find("\nplugin ");
    conf.erase(plugin_line + 1);
    if (options_.bare_logins.empty()) {
      ReplaceAll(&conf, "allow_anonymous false", "allow_anonymous true");
    } else {
      conf += "password_file " + WriteBarePasswordFile() + "\n";
    }
  }
  conf += options_.extra_mosquitto_conf + "\n";
  std::ofstream(dir() + "/mosquitto.conf") << conf;
}

std::vector<std::string> BrokerProcess::SanitizerEnv() {
  // A plugin built with AddressSanitizer (scripts/sanitize.sh) needs its runtime loaded first into the
  // stock, uninstrumented broker; leaks of the broker itself are not ours to report.
  const char* runtime = std::getenv("CHAT_BROKER_PRELOAD");
  if (runtime == nullptr || *runtime == '\0') return {};
  std::string options = "detect_leaks=0:abort_on_error=1";
  if (const char* reports = std::getenv("CHAT_SANITIZER_REPORTS")) options += std::string(":log_path=") + reports + "/broker";
  return {std::string("LD_PRELOAD=") + runtime, "ASAN_OPTIONS=" + options};
}

std::string BrokerProcess::Start() {
  for (int attempt = 1;; ++attempt) {
    std::string error = SpawnAndWait({"/usr/sbin/mosquitto", "-c", dir() + "/mosquitto.conf"}, SanitizerEnv(), "broker.log",
                                     "broker", "did not listen",
                                     [this] { return Accepts(mqtt_port_) && Accepts(ws_port_); });
    if (error.empty()) started_ = true;
    // A port that was free when picked can be taken meanwhile (another test's client gets it as its
    // ephemeral port; the WebSocket listener binds every interface). Before the first start nobody
    // knows the ports yet, so pick others and try again.
    bool port_taken = error.find("Unable to create") != std::string::npos ||
                      error.find("Address already in use") != std::string::npos;
    if (error.empty() || started_ || !port_taken || attempt == 5) return error;
    PickPorts();
    WriteMosquittoConf();  // chat.yaml may hold a test's own settings by now; it names no port
  }
}

std::string BrokerProcess::WithStoreOffline(const std::function<core::Status(core::Store&, const config::ServerConfig&)>& work) {
  if (running()) return "stop the broker first";
  auto config = config::LoadServerConfig(chat_config_path());
  if (!config.ok()) return config.status().ToString();
  auto store = storage::RocksDbStore::Open(config->data_dir, config->durability);
  if (!store.ok()) return store.status().ToString();
  core::Status s = work(**store, *config);
  return s.ok() ? "" : s.ToString();
}

std::string BrokerProcess::WriteBarePasswordFile() {
  std::string path = dir() + "/passwords";
  {
    std::ofstream file(path);
    for (const auto& [user, password] : options_.bare_logins) file << user << ':' << password << '\n';
  }
  // -U hashes a file of plain "user:password" lines in place, as Mosquitto's own tool does for one user.
  ChildProcess hasher;
  hasher.Spawn({"/usr/bin/mosquitto_passwd", "-U", path}, dir() + "/mosquitto_passwd.log");
  std::string how;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while ((how = hasher.ExitedHow()).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (how != "status 0") {
    std::fprintf(stderr, "mosquitto_passwd -U %s failed (%s): %s\n", path.c_str(), how.c_str(),
                 hasher.ReadLog().c_str());
    std::abort();  // a broken machine (no mosquitto package), not a measurement
  }
  return path;
}

std::string BrokerProcess::AddUsersOffline(const std::vector<std::string>& users, const std::string& password) {
  return WithStoreOffline([&](core::Store& store, const config::ServerConfig& config) {
    if (users.empty()) return core::Status::Ok();
    core::SystemClock clock;
    core::AccountService accounts(store, clock, config.auth);
    if (core::Status s = accounts.AddUser(users[0], password, false); !s.ok()) return s;
    // The others share the first one's hash (salt included): one PBKDF2 however many accounts, which
    // matters at production iteration counts. Each account is otherwise made as AddUser makes it.
    core::Result<core::UserRecord> first = store.GetUser(users[0]);
    if (!first.ok()) return first.status();
    for (std::size_t i = 1; i < users.size(); ++i) {
      if (store.UserExists(users[i]).ok()) return core::Status::Error(core::ErrorCode::kAlreadyExists, users[i]);
      core::UserRecord user = *first;
      user.user_id = users[i];
      user.created_at_ms = clock.NowMillis();
      if (core::Status s = store.PutUser(user); !s.ok()) return s;
    }
    return core::Status::Ok();
  });
}

std::string BrokerProcess::IssueResumeTokensOffline(const std::vector<std::pair<std::string, std::string>>& devices,
                                                    std::vector<std::string>* tokens) {
  return WithStoreOffline([&](core::Store& store, const config::ServerConfig&) {
    core::SystemClock clock;
    core::WriteSet writes;
    tokens->clear();
    for (const auto& [user, device] : devices) {
      core::Result<core::NewResumeToken> made = core::MakeResumeToken(user, device, clock.NowMillis());
      if (!made.ok()) return made.status();
      tokens->push_back(made->token);
      writes.resume_tokens.push_back({user, made->record});
    }
    return store.Apply(writes);
  });
}

std::string BrokerProcess::AddUserOffline(const std::string& user, const std::string& password, bool is_admin) {
  return WithStoreOffline([&](core::Store& store, const config::ServerConfig& config) {
    core::SystemClock clock;
    return core::AccountService(store, clock, config.auth).AddUser(user, password, is_admin);
  });
}

std::string BrokerProcess::AddContactsOffline(const std::vector<std::pair<std::string, std::string>>& pairs) {
  return WithStoreOffline([&](core::Store& store, const config::ServerConfig&) {
    core::WriteSet writes;
    for (const auto& [a, b] : pairs) {
      writes.contacts.push_back({a, b, core::ContactState::kContact});
      writes.contacts.push_back({b, a, core::ContactState::kContact});
    }
    return store.Apply(writes);
  });
}

}  // namespace chat::harness
