// BackupRunner: takes an online backup (Store::Checkpoint) on a thread of its own, so the broker thread
// only starts it and, on a later TICK, answers the operator who asked. One backup at a time.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/admin_commands.h"
#include "core/store.h"
#include "plugins/broker_waker.h"

namespace chat::plugin {

class BackupRunner {
 public:
  struct Finished {
    std::string client_id;  // who asked: the answer goes to that client only
    core::AdminCommand command;
    core::Status outcome;
    double seconds = 0;
  };

  // Borrows both; `waker` gets the broker to its next TICK as soon as a backup ends.
  BackupRunner(core::Store& store, BrokerWaker& waker) : store_(store), waker_(waker) {}
  ~BackupRunner();  // waits for a backup in progress
  BackupRunner(const BackupRunner&) = delete;
  BackupRunner& operator=(const BackupRunner&) = delete;

  // Starts `command` for `client_id`; false (nothing started) while another backup runs or its result
  // waits to be taken.
  bool Start(std::string client_id, core::AdminCommand command);
  // The backup that ended since the last call, if one did (broker thread).
  std::optional<Finished> TakeFinished();

 private:
  core::Store& store_;
  BrokerWaker& waker_;
  std::thread thread_;
  std::mutex mutex_;
  bool running_ = false;               // guarded by mutex_; until its result is taken
  std::optional<Finished> finished_;  // guarded by mutex_
};

}  // namespace chat::plugin
