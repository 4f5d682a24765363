// chatctl: manage chat accounts.
//   Offline (broker stopped), on the data folder named by the config file:
//     chatctl --config config/chat.yaml user add alice --password secret
//   Online, through $CONTROL/chat-accounts/v1 as an admin account:
//     chatctl --broker 127.0.0.1:1883 --admin admin --admin-password-file run/admin.password user list
#include <CLI/CLI.hpp>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <unistd.h>

#include "clients/common/connect_retry.h"
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
  chat::core::ChatService chat(**store, stage, clock, ids, config->limits, config->sync, config->presence, config->push,
                                config->auth);
  if (auto started = chat.Start(); !started.ok()) throw std::runtime_error(started.message());
  chat::core::DiscardingOutbox nobody;
  chat::core::AccountHooks hooks;
  hooks.erase_data = [&](const std::string& user_id) { return chat.EraseAccount(user_id, nobody); };
  chat::core::AccountService accounts(**store, clock, config->auth, hooks);
  return json::parse(chat::core::RunAccountCommands(accounts, commands.dump()));
}

// Sends one command document to a running broker and waits for its response.
json RunOnline(const Options& options, const json& commands) {
  std::string password = options.admin_password;
  if (!options.admin_password_file.empty()) {
    std::ifstream in(options.admin_password_file);
    if (!in) throw std::runtime_error("cannot read " + options.admin_password_file);
    password = ReadFirstLine(in);
  }
  std::string client_id = options.admin_user + ":chatctl-" + std::to_string(getpid());
  mqtt::async_client client("tcp://" + options.broker, client_id, mqtt::create_options(MQTTVERSION_5));
  auto connect = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(true)
                     .user_name(options.admin_user)
                     .password(password)
                     .connect_timeout(std::chrono::seconds(10))
                     .finalize();
  client.start_consuming();
  chat::clients::ConnectWithRetry(client, connect);
  std::string response_topic(chat::core::kAccountsControlResponseTopic);
  client.subscribe(response_topic, 1)->wait();
  client.publish(mqtt::make_message(std::string(chat::core::kAccountsControlTopic), commands.dump(), 1, false))->wait();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    mqtt::const_message_ptr message;
    if (!client.try_consume_message_for(&message, std::chrono::milliseconds(200)) || !message) continue;
    if (message->get_topic() != response_topic) continue;
    client.disconnect()->wait();
    return json::parse(message->to_string());
  }
  throw std::runtime_error("no response from the broker within 30 s (is the account an admin?)");
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
  CLI11_PARSE(app, argc, argv);

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
