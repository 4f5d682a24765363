// PluginInProcessTest: the built chat_plugin.so inside FakeBroker (tests/plugins/fake_broker.h), on a real
// RocksDB in a temporary folder, with accounts alice, bob and root (admin). The tests of each event
// handler (init_test.cc, basic_auth_test.cc, acl_check_test.cc, ...) share it.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/account_service.h"
#include "core/clock.h"
#include "core/settings.h"
#include "storage/rocksdb_store.h"
#include "tests/plugins/fake_broker.h"

namespace chat::harness {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using json = nlohmann::json;

inline constexpr char kPluginPath[] = CHAT_PLUGIN_PATH;
inline constexpr char kControlTopic[] = "$CONTROL/chat-accounts/v1";
inline constexpr char kControlResponseTopic[] = "$CONTROL/chat-accounts/v1/response";

inline std::string MakeTempDir() {
  char pattern[] = "/tmp/chat-inprocess-XXXXXX";
  if (mkdtemp(pattern) == nullptr) std::abort();
  return pattern;
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

inline json Json(const std::string& text) { return json::parse(text); }

class PluginInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    data_dir_ = dir_ + "/data";
    config_path_ = dir_ + "/chat.yaml";
    WriteFile(config_path_, "data_dir: " + data_dir_ + "\nauth:\n  pbkdf2_iterations: 1000\n"
              "metrics:\n  sys_interval_seconds: 0\n");
    // RocksDB allows one opener: accounts are made and the store closed before the plugin opens it.
    auto store = storage::RocksDbStore::Open(data_dir_, core::Durability::kProcessCrash);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    core::SystemClock clock;
    core::AuthSettings auth;
    auth.pbkdf2_iterations = 1000;
    core::AccountService accounts(**store, clock, auth);
    ASSERT_TRUE(accounts.AddUser("alice", "alice-pw", false).ok());
    ASSERT_TRUE(accounts.AddUser("bob", "bob-pw", false).ok());
    ASSERT_TRUE(accounts.AddUser("root", "root-pw", true).ok());
  }

  void TearDown() override {
    if (broker_ != nullptr) {
      broker_->UnloadAll();
      EXPECT_THAT(broker_->violations(), IsEmpty());
      broker_.reset();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Loads the plugin with `options` (default: our config file); returns init's answer.
  int Load(const PluginOptions& options) {
    broker_.reset();  // one FakeBroker at a time
    broker_ = std::make_unique<FakeBroker>();
    return broker_->LoadPlugin(kPluginPath, options);
  }
  void Start() { ASSERT_EQ(Load({{"config_file", config_path_}}), MOSQ_ERR_SUCCESS) << broker_->last_load_error(); }

  // A connection that logged in as `user` with client id "<user>:<device>".
  // What the login published (the user's presence, when they were offline) is taken out of the record,
  // so tests see only what their own events publish.
  mosquitto* Login(const std::string& user, const std::string& password, const std::string& device = "phone") {
    mosquitto* client = broker_->AddClient(user + ":" + device);
    EXPECT_EQ(broker_->BasicAuth(client, user, password), MOSQ_ERR_SUCCESS) << user;
    for (const Publication& p : broker_->TakePublished()) EXPECT_EQ(p.topic, "chat/v1/presence/" + user);
    return client;
  }

  // BASIC_AUTH as a real client sees it: an answer of "closed without CONNACK" (the password is being
  // checked off the broker thread) is followed by a reconnect, until a real answer comes.
  int SettledBasicAuth(mosquitto* client, const std::string& user, const std::string& password) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      int rc = broker_->BasicAuth(client, user, password);
      if (rc != MOSQ_ERR_UNKNOWN) return rc;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return MOSQ_ERR_UNKNOWN;
  }

  std::string SendPayload(const std::string& to, const std::string& text, const std::string& cmid) {
    return json{{"to", to}, {"text", text}, {"cmid", cmid}}.dump();
  }

  std::string dir_;
  std::string data_dir_;
  std::string config_path_;
  std::unique_ptr<FakeBroker> broker_;
};

}  // namespace chat::harness
