// ServerProcess: a program a test or a benchmark runs from a temporary folder of its own (its config, data
// and log): the folder is made at construction and removed at destruction; the program is started and
// waited for until it is ready, stopped politely (SIGTERM) or killed as in a crash (SIGKILL), and started
// again on the same folder. BrokerProcess (the broker) and PushBridgeProcess (the push bridge) are ones.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/child_process.h"

namespace chat::harness {

class ServerProcess {
 public:
  // Makes "/tmp/<prefix>-XXXXXX". Aborts the process with a message if the folder cannot be made (a
  // broken machine, not a test failure).
  explicit ServerProcess(const std::string& prefix);
  ~ServerProcess();  // kills a running program and removes the folder
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // SIGTERM and wait (10 s, then SIGKILL); the exit status, 128 + signal when killed by one.
  int Stop();
  // SIGKILL: nothing runs, as in a crash or power cut of the process.
  void Kill();
  bool running() const { return process_.running(); }
  // The program's CPU time and memory so far.
  ProcessUsage Usage() const { return process_.Usage(); }
  // Sends `signal` to the running program (SIGHUP: the broker reloads its config); false when none runs.
  bool Signal(int signal);
  // Limits the size of every file the running program writes to `bytes` (RLIMIT_FSIZE; writes past it
  // fail as on a full disk), or lifts the limit (nullopt). "" or the error.
  std::string LimitFileSize(std::optional<std::uint64_t> bytes);
  const std::string& dir() const { return dir_; }
  std::string log() const;  // the program's output so far

 protected:
  // Spawns `argv` with its output appended to dir()/`log_name` and waits (bounded, 20 s) until `ready`.
  // Returns "", "already running", "<name> exited at start (<how>):\n<log>" or
  // "<name> <not_ready> within 20 s:\n<log>" (the program is killed then).
  std::string SpawnAndWait(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                           const std::string& log_name, const std::string& name,
                           const std::string& not_ready, const std::function<bool()>& ready);

  ChildProcess process_;

 private:
  std::string dir_;
};

}  // namespace chat::harness
