// ChildProcess: a program the tests start (the broker, the push bridge) with its output appended to a log
// file, and stop politely (SIGTERM) or as in a crash (SIGKILL). FreeLoopbackPort: a port to tell it to
// listen on.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace chat::harness {

// What a running program has used so far, from /proc.
struct ProcessUsage {
  double cpu_seconds = 0;  // user + system, all threads
  // The same for the thread that started the process alone: Mosquitto's event loop, as opposed to
  // threads a plugin runs beside it.
  double main_thread_cpu_seconds = 0;
  long rss_kb = 0;         // resident set size now
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Forks and execs `argv` (argv[0] is the program's path) with stdout and stderr appended to `log_path`.
  // `extra_env`: "NAME=value" entries the program gets beside (or instead of) this process's environment.
  void Spawn(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& extra_env = {});
  // The program's output so far.
  std::string ReadLog() const;
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Zeros when not running.
  ProcessUsage Usage() const;
  // When the child has exited since: how ("status 2", "killed by signal 9"), and it is reaped; else "".
  std::string ExitedHow();
  // SIGTERM, then SIGKILL after `grace`; the exit status, or 128 + signal. -1 when not running.
  int Terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL: nothing runs, as in a crash.
  void Kill();

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// A TCP port that was free a moment ago on every address (the programs bind it on 127.0.0.1, and
// Mosquitto's WebSocket listener on all addresses), outside the range of ports the kernel gives clients.
int FreeLoopbackPort();
// A TCP connection to 127.0.0.1:`port`, or -1 when nothing accepts there.
int ConnectToLoopback(int port);

// A command-line tool run to its end through the shell (popen): its exit code (-1 when it did not exit
// normally) and its standard output and error together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::string& shell_command);

}  // namespace chat::harness
