#include "plugins/broker_waker.h"

#include <signal.h>

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
}

void BrokerWaker::Wake(bool always) {
  if (always || !busy_.load()) pthread_kill(broker_, WakingSignal());
}

}  // namespace chat::plugin
