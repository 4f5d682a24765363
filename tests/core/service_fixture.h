// ServiceFixture: a ChatService on a real RocksDB in a temporary folder, with a fake clock, some
// accounts, and a RecordingOutbox; the base of the core service tests.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <thread>
#include <memory>
#include <string>

#include "core/account_service.h"
#include "core/chat_service.h"
#include "core/commit_stage.h"
#include "storage/rocksdb_store.h"
#include "tests/core/fake_clock.h"
#include "tests/core/recording_outbox.h"
#include "tests/core/temp_dir.h"

namespace chat::core {

class ServiceFixture : public ::testing::Test {
 protected:
  // Creates the accounts (password "pw"); call from SetUp, then adjust settings and call Restart.
  void CreateUsers(std::initializer_list<const char*> users) {
    store_ = std::move(*storage::RocksDbStore::Open(dir_.path(), Durability::kProcessCrash));
    AuthSettings auth;
    auth.pbkdf2_iterations = 1000;
    AccountService accounts(*store_, clock_, auth);
    for (const char* user : users) ASSERT_TRUE(accounts.AddUser(user, "pw", false).ok());
    ids_ = std::make_unique<MessageIdGenerator>(clock_, 1, 0);
    Restart();
  }
  // Makes `a` and `b` contacts (as an accepted request would, without events).
  void MakeContacts(const char* a, const char* b) {
    WriteSet writes;
    writes.contacts.push_back({a, b, ContactState::kContact});
    writes.contacts.push_back({b, a, ContactState::kContact});
    ASSERT_TRUE(store_->Apply(writes).ok());
  }
  // A new service on the same store and settings (as after a broker restart), committing inline unless
  // a test chose another stage.
  void Restart() {
    service_.reset();
    if (!stage_) stage_ = std::make_unique<InlineCommitStage>(*store_);
    if (!reads_) reads_ = std::make_unique<InlineReadWorker>(*store_);
    service_ = std::make_unique<ChatService>(*store_, *stage_, *reads_, clock_, *ids_, limits_, presence_, push_, auth_);
  }

  // Sends one request from "<user>:phone"; what it published is in outbox_.published afterwards.
  Status Request(const char* user, RequestOp op, const nlohmann::json& payload, bool admin = false) {
    return Request(user, op, payload.dump(), admin);
  }
  Status Request(const char* user, RequestOp op, const std::string& payload, bool admin = false) {
    outbox_.published.clear();
    std::string client_id = std::string(user) + ":phone";
    return service_->Handle(Caller{user, client_id, admin}, op, payload, outbox_);
  }

  // Ticks (as the broker loop does) until `done` or 10 s: for a commit stage with a thread of its own.
  bool TickUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      service_->OnTick(outbox_);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  Limits limits_;
  PresenceSettings presence_;
  PushSettings push_;
  AuthSettings auth_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<MessageIdGenerator> ids_;
  std::unique_ptr<CommitStage> stage_;
  std::unique_ptr<ReadWorker> reads_;
  std::unique_ptr<ChatService> service_;
  RecordingOutbox outbox_;
};

}  // namespace chat::core
