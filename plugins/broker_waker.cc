#include "plugins/broker_waker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
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
  pacer_ = std::thread([this] { Pace(); });
}

BrokerWaker::~BrokerWaker() {
  {
    std::lock_guard<std::mutex> lock(pacer_mutex_);
    stopping_ = true;
  }
  pacer_wanted_.notify_one();
  pacer_.join();
  if (state_fd_ >= 0) close(state_fd_);
}

void BrokerWaker::KeepTurning(long passes) {
  bool was_idle;
  {
    std::lock_guard<std::mutex> lock(pacer_mutex_);
    long left = passes_left_.load();
    was_idle = left <= 0;
    passes_left_.store(std::max(left, 0L) + passes);
  }
  if (was_idle) pacer_wanted_.notify_one();
}

void BrokerWaker::Pace() {
  // Sleeps of kWakePeriod, not the 50 us the kernel may add to a sleep by default (timer slack).
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  std::unique_lock<std::mutex> lock(pacer_mutex_);
  while (!stopping_) {
    if (passes_left_.load() <= 0) {
      pacer_wanted_.wait(lock, [this] { return stopping_ || passes_left_.load() > 0; });
      continue;
    }
    lock.unlock();
    Wake(/*always=*/false);
    std::this_thread::sleep_for(kWakePeriod);
    lock.lock();
  }
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
