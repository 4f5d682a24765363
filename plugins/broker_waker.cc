#include "plugins/broker_waker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace chat::plugin {
namespace {

// A real-time signal nobody else in the broker uses (Mosquitto handles SIGINT, SIGTERM, SIGHUP, SIGUSR1
// and SIGUSR2, and glibc keeps the first two real-time signals for itself).
int WakingSignal() { return SIGRTMIN + 5; }

void IgnoreWake(int) {}

}  // namespace

BrokerWaker::BrokerWaker() : broker_(pthread_self()) {
  struct sigaction action = {};
  action.sa_handler = IgnoreWake;
  sigemptyset(&action.sa_mask);
  // Restartable calls carry on; epoll_wait is never restarted, which is the point.
  action.sa_flags = SA_RESTART;
  sigaction(WakingSignal(), &action, nullptr);
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", static_cast<long>(syscall(SYS_gettid)));
  state_fd_ = open(path, O_RDONLY | O_CLOEXEC);
}

BrokerWaker::~BrokerWaker() {
  if (state_fd_ >= 0) close(state_fd_);
}

bool BrokerWaker::BrokerMaySleep() const {
  if (state_fd_ < 0) return true;
  // "<tid> (<name>) <state> ...": the name may hold spaces and parentheses, the state follows the last ')'.
  char stat[512];
  ssize_t length = pread(state_fd_, stat, sizeof(stat) - 1, 0);
  if (length <= 0) return true;
  stat[length] = '\0';
  const char* close_paren = std::strrchr(stat, ')');
  if (close_paren == nullptr || close_paren[1] != ' ') return true;
  return close_paren[2] != 'R';
}

void BrokerWaker::Wake(bool always) {
  if (!always && (busy_.load() || !BrokerMaySleep())) return;
  signals_.fetch_add(1, std::memory_order_relaxed);
  pthread_kill(broker_, WakingSignal());
}

}  // namespace chat::plugin
