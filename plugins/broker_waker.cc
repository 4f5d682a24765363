#include "plugins/broker_waker.h"

#include <pthread.h>
#include <signal.h>

namespace chat::plugin {
namespace {

// A real-time signal nobody else in the broker uses (Mosquitto handles SIGINT, SIGTERM, SIGHUP, SIGUSR1
// and SIGUSR2, and glibc keeps the first two real-time signals for itself).
int WakingSignal() { return SIGRTMIN + 5; }

void IgnoreWake(int) {}

}  // namespace

std::function<void()> WakerForThisThread() {
  struct sigaction action = {};
  action.sa_handler = IgnoreWake;
  sigemptyset(&action.sa_mask);
  // Restartable calls carry on; epoll_wait is never restarted, which is the point.
  action.sa_flags = SA_RESTART;
  sigaction(WakingSignal(), &action, nullptr);
  pthread_t broker = pthread_self();
  return [broker] { pthread_kill(broker, WakingSignal()); };
}

}  // namespace chat::plugin
