// chatctl: manage chat accounts, check a config file before a (re)start, back up and restore the store,
// look at its size and run its retention sweep.
//   chatctl config check config/chat.yaml
//   chatctl --broker 127.0.0.1:1883 --admin-password-file run/admin.password backup /var/backups/chat/today
//   chatctl --broker 127.0.0.1:1883 --admin-password-file run/admin.password stats
//   chatctl --config config/chat.yaml restore /var/backups/chat/today      # broker stopped
//   Offline (broker stopped), on the data folder named by the config file:
//     chatctl --config config/chat.yaml user add alice --password secret
//   Online, through $CONTROL/chat-accounts/v1 as an admin account:
//     chatctl --broker 127.0.0.1:1883 --admin admin --admin-password-file run/admin.password user list
#include <CLI/CLI.hpp>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <random>
#include <string>
#include <thread>
#include <fcntl.h>
#include <unistd.h>

#include "clients/common/broker_address.h"
#include "clients/common/connect_retry.h"
#include "config/mosquitto_conf.h"
#include "config/server_config.h"
#include "core/account_commands.h"
#include "core/account_service.h"
#include "core/chat_service.h"
#include "core/clock.h"
#include "core/topic_format.h"
#include "storage/rocksdb_store.h"

namespace {

using nlohmann::json;

struct Options {
  std::string config_file = "config/chat.yaml";
  std::string broker;  // host:port; empty = offline
  chat::clients::BrokerAddress tls;  // its TLS settings (host and port come from `broker`)
  std::string admin_user = "admin";
  std::string admin_password;
  std::string admin_password_file;
  std::string user;
  std::string password;
  bool password_stdin = false;
  bool admin = false;
};

std::string ReadFirstLine(std::istream& in) {
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// Runs one command document offline against the store named by the config file.
json RunOffline(const Options& options, const json& commands) {
  auto config = chat::config::LoadServerConfig(options.config_file);
  if (!config.ok()) throw std::runtime_error(config.status().message());
  auto store = chat::storage::RocksDbStore::Open(config->data_dir, config->durability);
  if (!store.ok()) {
    throw std::runtime_error(store.status().message() + " (is the broker running? then use --broker)");
  }
  chat::core::SystemClock clock;
  // Deleting an account erases what it left, as the running server does (nobody is online to be told).
  auto floor = (*store)->LargestMessageId();
  if (!floor.ok()) throw std::runtime_error(floor.status().message());
  chat::core::MessageIdGenerator ids(clock, config->node_id, *floor);
  chat::core::InlineCommitStage stage(**store);
  chat::core::InlineReadWorker reads(**store);
  chat::core::ChatService chat(**store, stage, reads, clock, ids, config->limits, config->presence, config->push,
                                config->auth);
  if (auto started = chat.Start(); !started.ok()) throw std::runtime_error(started.message());
  chat::core::DiscardingOutbox nobody;
  chat::core::AccountHooks hooks;
  hooks.erase_data = [&](const std::string& user_id) { return chat.EraseAccount(user_id, nobody); };
  chat::core::AccountService accounts(**store, clock, config->auth, hooks);
  return json::parse(chat::core::RunAccountCommands(accounts, commands.dump()));
}

// Sends one command document to a running broker on `topic` and waits up to `wait` for the response on
// `topic`/response.
json RunOnline(const Options& options, const json& commands, std::string_view topic = chat::core::kAccountsControlTopic,
               std::chrono::seconds wait = std::chrono::seconds(30)) {
  std::string password = options.admin_password;
  if (!options.admin_password_file.empty()) {
    std::ifstream in(options.admin_password_file);
    if (!in) throw std::runtime_error("cannot read " + options.admin_password_file);
    password = ReadFirstLine(in);
  }
  std::string client_id = options.admin_user + ":chatctl-" + std::to_string(getpid());
  chat::clients::BrokerAddress address = options.tls;
  auto colon = options.broker.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--broker must be HOST:PORT, got " + options.broker);
  address.host = options.broker.substr(0, colon);
  address.port = std::stoi(options.broker.substr(colon + 1));
  mqtt::async_client client(chat::clients::BrokerUri(address), client_id, mqtt::create_options(MQTTVERSION_5));
  auto connect = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(true)
                     .user_name(options.admin_user)
                     .password(password)
                     .connect_timeout(std::chrono::seconds(10));
  if (address.tls) connect.ssl(chat::clients::TlsOptions(address));
  client.start_consuming();
  chat::clients::ConnectWithRetry(client, connect.finalize());
  std::string response_topic = std::string(topic) + "/response";
  client.subscribe(response_topic, 1)->wait();
  client.publish(mqtt::make_message(std::string(topic), commands.dump(), 1, false))->wait();
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    mqtt::const_message_ptr message;
    if (!client.try_consume_message_for(&message, std::chrono::milliseconds(200)) || !message) continue;
    if (message->get_topic() != response_topic) continue;
    client.disconnect()->wait();
    return json::parse(message->to_string());
  }
  throw std::runtime_error("no response from the broker within " + std::to_string(wait.count()) +
                           " s (is the account an admin?)");
}

// Runs an operator task on the running broker ($CONTROL/chat-admin/v1) and returns its response, or
// nothing after printing its error.
std::optional<json> RunAdminTask(const Options& options, const json& command) {
  std::string name = command["command"].get<std::string>();
  if (options.broker.empty()) throw std::runtime_error(name + " needs --broker: the running server does it");
  json response;
  // One task runs at a time, the server's hourly retention sweep included: wait for a turn.
  for (int attempt = 0; attempt < 120; ++attempt) {
    response = RunOnline(options, command, chat::core::kAdminControlTopic, std::chrono::seconds(3600));
    if (response.value("code", "") != "busy") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (response.contains("error")) {
    std::cerr << "chatctl: " << name << ": " << response["error"].get<std::string>() << "\n";
    return std::nullopt;
  }
  return response;
}

// Asks the running broker for a backup into `dir` (made absolute: the broker's process writes it).
int Backup(const Options& options, const std::string& dir) {
  std::string absolute = std::filesystem::absolute(dir).lexically_normal().string();
  std::optional<json> response = RunAdminTask(options, {{"command", "backup"}, {"dir", absolute}});
  if (!response) return 1;
  std::cout << "backup in " << absolute << " (" << response->value("seconds", 0.0) << " s)\n";
  return 0;
}

// Prints the running server's store: approximate bytes per table, and how many users, groups and messages.
int Stats(const Options& options, bool as_json) {
  std::optional<json> response = RunAdminTask(options, {{"command", "stats"}});
  if (!response) return 1;
  if (as_json) {
    std::cout << response->dump(2) << "\n";
    return 0;
  }
  std::cout << "users     " << (*response)["users"] << "\ngroups    " << (*response)["groups"] << "\nmessages  "
            << (*response)["messages"] << "\n\nbytes by table (approximate):\n";
  for (const auto& [table, bytes] : (*response)["table_bytes"].items()) {
    std::cout << "  " << std::left << std::setw(18) << table << " " << bytes << "\n";
  }
  return 0;
}

// Runs the retention sweep now instead of at the next hour.
int Retention(const Options& options) {
  std::optional<json> response = RunAdminTask(options, {{"command", "retention"}});
  if (!response) return 1;
  std::cout << "removed " << (*response)["messages_removed"] << " messages and "
            << (*response)["queue_entries_removed"] << " queue entries (" << response->value("seconds", 0.0)
            << " s)\n";
  return 0;
}

// Writes the search index of the stopped server's store again from its messages (the index is kept
// with every write; this is for a store whose index is in doubt, or after changing how text is indexed).
int Reindex(const Options& options) {
  auto config = chat::config::LoadServerConfig(options.config_file);
  if (!config.ok()) throw std::runtime_error(config.status().message());
  auto store = chat::storage::RocksDbStore::Open(config->data_dir, config->durability, config->storage);
  if (!store.ok()) throw std::runtime_error(store.status().message() + " (stop the broker first)");
  auto started = std::chrono::steady_clock::now();
  auto indexed = (*store)->RebuildSearchIndex();
  if (!indexed.ok()) throw std::runtime_error(indexed.status().message());
  std::cout << "indexed " << *indexed << " messages ("
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s)\n";
  return 0;
}

// Whether a process holds RocksDB's lock on `lock_file` (a running broker). The lock is only probed:
// the store itself is not opened, so a damaged or newer one, which is why one restores, can be replaced.
bool StoreInUse(const std::filesystem::path& lock_file) {
  int fd = open(lock_file.c_str(), O_RDWR);
  if (fd < 0) return false;
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  bool in_use = fcntl(fd, F_SETLK, &lock) != 0;
  close(fd);  // releases the probe's lock, if it got it
  return in_use;
}

// Brings the backup in `dir` back as the data folder of the stopped server of `options.config_file`.
// It is copied beside the data folder first and opened there (a backup this server cannot read is
// refused before anything is replaced); then it takes the data folder's place. A data folder with
// anything in it is replaced only with `force`, and is kept beside it, renamed.
int Restore(const Options& options, const std::string& dir, bool force) {
  namespace fs = std::filesystem;
  auto config = chat::config::LoadServerConfig(options.config_file);
  if (!config.ok()) throw std::runtime_error(config.status().message());
  if (!fs::exists(fs::path(dir) / "CURRENT")) throw std::runtime_error(dir + " holds no backup (no CURRENT file)");
  fs::path data(config->data_dir);
  bool occupied = fs::exists(data) && !fs::is_empty(data);
  if (occupied && !force) {
    throw std::runtime_error("the data folder " + data.string() + " is not empty; --force replaces it (kept as " +
                             data.string() + ".replaced-<time>)");
  }
  if (occupied && StoreInUse(data / "LOCK")) {
    throw std::runtime_error("the store in " + data.string() + " is in use: stop the broker first");
  }
  fs::path staging = data.string() + ".restoring";
  fs::remove_all(staging);
  fs::copy(dir, staging, fs::copy_options::recursive);
  {
    auto restored = chat::storage::RocksDbStore::Open(staging.string(), config->durability, config->storage);
    if (!restored.ok()) {
      fs::remove_all(staging);
      throw std::runtime_error("the backup in " + dir + " cannot be opened: " + restored.status().message());
    }
  }
  if (occupied) {
    fs::path aside = data.string() + ".replaced-" + std::to_string(std::time(nullptr));
    fs::rename(data, aside);
    std::cout << "the old data folder is kept as " << aside.string() << "\n";
  } else if (fs::exists(data)) {
    fs::remove(data);  // empty
  }
  fs::rename(staging, data);
  std::cout << "restored " << dir << " into " << data.string() << "\n";
  return 0;
}

int Report(const json& response) {
  int failures = 0;
  for (const json& r : response.at("responses")) {
    if (r.contains("error")) {
      std::cerr << "error: " << r.at("error").get<std::string>() << "\n";
      ++failures;
    } else if (r.contains("data")) {
      for (const json& u : r["data"]["users"]) {
        std::cout << u.at("username").get<std::string>() << (u.value("admin", false) ? "\tadmin" : "") << "\n";
      }
    } else {
      std::cout << "ok\n";
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"chatctl: manage chat server accounts"};
  app.require_subcommand(1);
  app.add_option("--config", options.config_file, "YAML config naming the data folder (offline mode)");
  app.add_option("--broker", options.broker, "host:port of a running broker (online mode, via $CONTROL)");
  app.add_option("--admin", options.admin_user, "admin account for online mode");
  app.add_flag("--tls", options.tls.tls, "online mode over TLS (the broker's TLS port), verifying its certificate");
  app.add_option("--cafile", options.tls.ca_file, "CA the broker's certificate must chain to (default: the system's)");
  app.add_option("--cert", options.tls.cert_file, "client certificate, for brokers that require one");
  app.add_option("--key", options.tls.key_file, "its private key");
  app.add_option("--admin-password", options.admin_password, "its password");
  app.add_option("--admin-password-file", options.admin_password_file, "file whose first line is its password");

  CLI::App* user = app.add_subcommand("user", "manage user accounts");
  user->require_subcommand(1);
  CLI::App* add = user->add_subcommand("add", "create an account");
  CLI::App* passwd = user->add_subcommand("passwd", "set an account's password");
  CLI::App* del = user->add_subcommand("del", "delete an account (its messages stay in history)");
  CLI::App* list = user->add_subcommand("list", "list accounts");
  CLI::App* revoke = user->add_subcommand(
      "revoke-tokens", "end every resume token of an account (its devices must log in with the password again)");
  for (CLI::App* sub : {add, passwd, del, revoke}) sub->add_option("username", options.user)->required();
  for (CLI::App* sub : {add, passwd}) {
    sub->add_option("--password,-p", options.password, "the password (visible to ps; prefer --password-stdin)");
    sub->add_flag("--password-stdin", options.password_stdin, "read the password from standard input");
  }
  add->add_flag("--admin", options.admin, "may use $CONTROL/chat-accounts/v1 (account administration)");
  CLI::App* config = app.add_subcommand("config", "work with config files");
  config->require_subcommand(1);
  std::string file_to_check;
  CLI::App* check = config->add_subcommand(
      "check", "validate a chat.yaml as the plugin does at start-up and on SIGHUP, without starting anything");
  check->add_option("file", file_to_check, "the YAML file")->required();
  CLI::App* conf = config->add_subcommand("mosquitto-conf", "print the mosquitto.conf a chat.yaml asks for");
  std::string conf_template;
  chat::config::BrokerFiles files{"", "", ""};
  std::string address;
  std::uint32_t mqtt_port = 0;
  std::uint32_t ws_port = 0;
  bool ws_port_given = false;
  conf->add_option("file", files.config_file, "the chat.yaml")->required();
  conf->add_option("--template", conf_template, "config/mosquitto.conf.in")->required();
  conf->add_option("--plugin", files.plugin_path, "path of chat_plugin.so")->required();
  conf->add_option("--user", files.user, "account the broker drops privileges to")->required();
  conf->add_option("--address", address, "overrides listeners.address");
  conf->add_option("--mqtt-port", mqtt_port, "overrides listeners.mqtt_port");
  conf->add_option("--ws-port", ws_port, "overrides listeners.websockets_port (0: none)")
      ->each([&](const std::string&) { ws_port_given = true; });
  std::string backup_dir;
  bool force = false;
  CLI::App* backup = app.add_subcommand("backup", "take a consistent backup of the running server (needs --broker)");
  backup->add_option("dir", backup_dir, "a new folder for it (written by the broker's process)")->required();
  CLI::App* restore = app.add_subcommand("restore", "bring a backup back into the stopped server's data folder");
  restore->add_option("dir", backup_dir, "the backup's folder")->required();
  restore->add_flag("--force", force, "replace a data folder that is not empty (it is kept, renamed)");
  bool stats_json = false;
  CLI::App* stats = app.add_subcommand("stats", "the running server's store: size by table, users, groups, messages");
  stats->add_flag("--json", stats_json, "print the server's JSON response");
  CLI::App* retention = app.add_subcommand("retention", "run the retention sweep of the running server now");
  CLI::App* reindex = app.add_subcommand("reindex", "write the stopped server's search index again from its messages");
  CLI11_PARSE(app, argc, argv);

  if (backup->parsed() || restore->parsed() || stats->parsed() || retention->parsed() || reindex->parsed()) {
    try {
      if (reindex->parsed()) return Reindex(options);
      if (stats->parsed()) return Stats(options, stats_json);
      if (retention->parsed()) return Retention(options);
      return backup->parsed() ? Backup(options, backup_dir) : Restore(options, backup_dir, force);
    } catch (const std::exception& e) {
      std::cerr << "chatctl: " << e.what() << "\n";
      return 1;
    }
  }

  if (conf->parsed()) {
    auto chat_config = chat::config::LoadServerConfig(files.config_file);
    std::ifstream template_file(conf_template);
    std::stringstream template_text;
    template_text << template_file.rdbuf();
    if (!chat_config.ok() || !template_file) {
      std::cerr << "chatctl: " << (chat_config.ok() ? "cannot read " + conf_template : chat_config.status().message())
                << "\n";
      return 1;
    }
    if (!address.empty()) chat_config->listeners.address = address;
    if (mqtt_port != 0) chat_config->listeners.mqtt_port = mqtt_port;
    if (ws_port_given) chat_config->listeners.websockets_port = ws_port;
    files.config_file = std::filesystem::absolute(files.config_file).string();
    auto generated = chat::config::MosquittoConf(template_text.str(), *chat_config, files);
    if (!generated.ok()) {
      std::cerr << "chatctl: " << files.config_file << ": " << generated.status().message() << "\n";
      return 1;
    }
    std::cout << *generated;
    return 0;
  }

  if (check->parsed()) {
    // The same parser and the same message as the plugin's start-up ("chat: bad config: ...").
    auto checked = chat::config::LoadServerConfig(file_to_check);
    if (!checked.ok()) {
      std::cerr << "chatctl: bad config: " << checked.status().message() << "\n";
      return 1;
    }
    std::cout << file_to_check << ": ok (data in " << checked->data_dir << ")\n";
    return 0;
  }

  try {
    if (options.password_stdin) options.password = ReadFirstLine(std::cin);
    json command;
    if (add->parsed()) {
      command = {{"command", "addUser"}, {"username", options.user}, {"password", options.password},
                 {"admin", options.admin}};
    } else if (passwd->parsed()) {
      command = {{"command", "setPassword"}, {"username", options.user}, {"password", options.password}};
    } else if (del->parsed()) {
      command = {{"command", "deleteUser"}, {"username", options.user}};
    } else if (revoke->parsed()) {
      command = {{"command", "revokeResumeTokens"}, {"username", options.user}};
    } else if (list->parsed()) {
      command = {{"command", "listUsers"}};
    }
    json request = {{"commands", json::array({command})}};
    return Report(options.broker.empty() ? RunOffline(options, request) : RunOnline(options, request));
  } catch (const std::exception& e) {
    std::cerr << "chatctl: " << e.what() << "\n";
    return 2;
  }
}
