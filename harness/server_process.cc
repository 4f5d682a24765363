#include "harness/server_process.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace chat::harness {

ServerProcess::ServerProcess(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  dir_ = pattern;
}

ServerProcess::~ServerProcess() {
  Kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int ServerProcess::Stop() { return process_.Terminate(); }

void ServerProcess::Kill() { process_.Kill(); }

bool ServerProcess::Signal(int signal) { return process_.running() && kill(process_.pid(), signal) == 0; }

std::string ServerProcess::log() const { return process_.ReadLog(); }

std::string ServerProcess::SpawnAndWait(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                                        const std::string& log_name,
                                        const std::string& name, const std::string& not_ready,
                                        const std::function<bool()>& ready) {
  if (running()) return "already running";
  process_.Spawn(argv, dir_ + "/" + log_name, extra_env);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::string how = process_.ExitedHow(); !how.empty()) {
      return name + " exited at start (" + how + "):\n" + log();
    }
    if (ready()) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return name + " " + not_ready + " within 20 s:\n" + log();
}

std::string ServerProcess::LimitFileSize(std::optional<std::uint64_t> bytes) {
  if (!running()) return "not running";
  rlimit limit{};
  if (prlimit(process_.pid(), RLIMIT_FSIZE, nullptr, &limit) != 0) return std::string("prlimit: ") + std::strerror(errno);
  limit.rlim_cur = bytes ? std::min<rlim_t>(*bytes, limit.rlim_max) : limit.rlim_max;
  if (prlimit(process_.pid(), RLIMIT_FSIZE, &limit, nullptr) != 0) return std::string("prlimit: ") + std::strerror(errno);
  return "";
}

}  // namespace chat::harness
