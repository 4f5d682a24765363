#include "harness/child_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace chat::harness {
namespace {

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// User + system CPU seconds from a /proc stat file (a process's or a thread's).
double CpuSecondsIn(const std::string& stat_path) {
  std::ifstream stat(stat_path);
  std::string line;
  std::getline(stat, line);
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  std::size_t close_paren = line.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 > line.size()) return 0;
  std::istringstream fields(line.substr(close_paren + 2));
  std::string field;
  double ticks = 0;
  for (int index = 3; fields >> field && index <= 15; ++index) {
    if (index == 14 || index == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

void ChildProcess::Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                         const std::vector<std::string>& extra_env) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // Built before fork: the child of a threaded process should only exec.
  std::vector<char*> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view name(*entry, std::strcspn(*entry, "="));
    bool replaced = std::any_of(extra_env.begin(), extra_env.end(), [&](const std::string& extra) {
      return extra.size() > name.size() && extra.compare(0, name.size(), name) == 0 && extra[name.size()] == '=';
    });
    if (!replaced) env.push_back(*entry);
  }
  for (const std::string& extra : extra_env) env.push_back(const_cast<char*>(extra.c_str()));
  env.push_back(nullptr);
  log_path_ = log_path;
  pid_ = fork();
  if (pid_ == 0) {
    // A write past a file size limit (ServerProcess::LimitFileSize, a full disk for the test) then
    // fails with EFBIG, as on a full disk, instead of killing the program.
    signal(SIGXFSZ, SIG_IGN);
    std::FILE* log = std::fopen(log_path.c_str(), "a");
    if (log != nullptr) {
      dup2(fileno(log), STDOUT_FILENO);
      dup2(fileno(log), STDERR_FILENO);
    }
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
}

std::string ChildProcess::ReadLog() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ProcessUsage ChildProcess::Usage() const {
  ProcessUsage usage;
  if (!running()) return usage;
  std::string proc = "/proc/" + std::to_string(pid_);
  usage.cpu_seconds = CpuSecondsIn(proc + "/stat");
  usage.main_thread_cpu_seconds = CpuSecondsIn(proc + "/task/" + std::to_string(pid_) + "/stat");
  std::ifstream status(proc + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) usage.rss_kb = std::stol(line.substr(6));
  }
  return usage;
}

std::string ChildProcess::ExitedHow() {
  int status = 0;
  if (!running() || waitpid(pid_, &status, WNOHANG) != pid_) return "";
  pid_ = -1;
  return WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                             : "status " + std::to_string(WEXITSTATUS(status));
}

int ChildProcess::Terminate(std::chrono::milliseconds grace) {
  if (!running()) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return ExitCode(status);
}

void ChildProcess::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ConnectToLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int FreeLoopbackPort() {
  // Ports the kernel never hands out as the local port of a connection (below ip_local_port_range's
  // default start, 32768), so that no client of this machine takes it between now and the program's bind.
  // Free on every address, IPv4 and IPv6: Mosquitto 2.0.11 binds its WebSocket listener to all of them
  // whatever the config says, and one TIME_WAIT connection from another local address on that port (after
  // a benchmark's 15,000 connections there are thousands) made it fail to start.
  static std::minstd_rand random(static_cast<unsigned>(getpid()) * 2654435761u ^
                                 static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = 20000 + static_cast<int>(random() % 12000);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) break;
    int dual_stack = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &dual_stack, sizeof(dual_stack));
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = htons(static_cast<std::uint16_t>(port));
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free) return port;
  }
  // No IPv6, or nothing free in that range: whatever the kernel picks on loopback.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

CommandResult RunCommand(const std::string& shell_command) {
  CommandResult result;
  std::string command = shell_command + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) result.output += buffer;
  int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace chat::harness
