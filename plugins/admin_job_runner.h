// AdminJobRunner: runs operator tasks (core/admin_commands.h: a backup, the store's statistics, the
// retention sweep) on a thread of its own, so the broker thread only starts one and, on a later TICK,
// answers the operator who asked. One task at a time.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/admin_commands.h"
#include "core/store.h"
#include "plugins/broker_waker.h"

namespace chat::plugin {

class AdminJobRunner {
 public:
  struct Finished {
    std::string client_id;  // who asked: the answer goes to that client only ("" for the server's own)
    core::AdminCommand command;
    core::AdminOutcome outcome;
  };

  // Borrows both; `waker` gets the broker to its next TICK as soon as a task ends.
  AdminJobRunner(core::Store& store, BrokerWaker& waker) : store_(store), waker_(waker) {}
  ~AdminJobRunner();  // waits for a task in progress
  AdminJobRunner(const AdminJobRunner&) = delete;
  AdminJobRunner& operator=(const AdminJobRunner&) = delete;

  // Starts `command` for `client_id`; false (nothing started) while another task runs or its result
  // waits to be taken.
  bool Start(std::string client_id, core::AdminCommand command);
  // The task that ended since the last call, if one did (broker thread).
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
