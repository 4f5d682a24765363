// BrokerWaker: how a plugin thread gets the broker's event loop to run its TICK now rather than at the
// end of its 100 ms epoll_wait. Another thread may not call mosquitto_broker_publish, so what the commit
// stage finishes is published from TICK; waiting for the idle timeout would hold every chat ack for up
// to 100 ms. The waker interrupts the wait with a signal aimed at the broker thread alone: epoll_wait
// then returns EINTR (which Mosquitto 2.0.11 ignores) and the loop goes on to TICK. See
// docs/PERFORMANCE.md for why a signal and not a loopback connection or a pipe.
//
// A signal costs the broker thread its delivery and return (several microseconds on these machines),
// and a loop that is running reaches its TICK anyway, so the waker sends one only when the loop sleeps.
// Two checks say whether it may: a MESSAGE callback runs while the loop handles the sockets epoll_wait
// reported, and TICK ends that same pass (src/loop.c), so between a MESSAGE and the next TICK the loop
// cannot be asleep (a flag, free to read); otherwise the kernel's scheduling state of the broker thread
// (/proc/self/task/<tid>/stat: sleeping or running; a read of a few microseconds, made on the waking
// thread, not the broker's).
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace chat::plugin {

class BrokerWaker {
 public:
  // Construct on the broker thread (in mosquitto_plugin_init): the signal is aimed at the constructing
  // thread. Installs a handler that does nothing for the waking signal.
  BrokerWaker();
  ~BrokerWaker();
  BrokerWaker(const BrokerWaker&) = delete;
  BrokerWaker& operator=(const BrokerWaker&) = delete;

  // Broker thread, in a MESSAGE callback: this loop pass ends with a TICK.
  void LoopBusy() {
    if (!busy_.load(std::memory_order_relaxed)) busy_.store(true);
  }
  // Broker thread, at TICK (every loop pass ends with one) before the finished commits are taken: the
  // loop may wait next. Counts the pass against KeepTurning's.
  void LoopMayWait() {
    busy_.store(false);
    if (passes_left_.load(std::memory_order_relaxed) > 0) passes_left_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Any thread. Sends the signal when the broker thread sleeps; `always` sends it regardless (a wake-up
  // can be lost when it lands just before the loop starts to wait, so the commit stage repeats it, and
  // now and then forces it in case a MESSAGE outside the loop's socket handling left the busy mark
  // standing).
  void Wake(bool always);

  // Signals sent so far (for tests and metrics).
  unsigned long signals() const { return signals_.load(std::memory_order_relaxed); }

  // Broker thread: keeps the loop turning for `passes` more loop passes, waking it whenever it sleeps
  // (checked every kWakePeriod). Mosquitto 2.0.11 writes a few KB to a WebSocket client per loop pass
  // (libwebsockets' writable callback runs from lws_service, once a pass) and then sleeps up to 100 ms
  // in epoll_wait, which does not watch WebSocket sockets: alone, a 300 KB event reached a web client in
  // 7 seconds (upstream issue #1390). Counted in passes, not time: on a machine whose cores are busy a
  // pass takes longer, and a window of time ran out with most of the event still queued (3.3 s).
  void KeepTurning(long passes);
  static constexpr std::chrono::microseconds kWakePeriod{25};

 private:
  // The pacer thread: wakes the sleeping loop every kWakePeriod while passes are left.
  void Pace();

  // True unless the broker thread is known to be running (it may be about to sleep: the caller repeats).
  bool BrokerMaySleep() const;

  pthread_t broker_;
  int state_fd_ = -1;  // /proc/self/task/<broker tid>/stat, or -1 (then every wake-up signals)
  // Sequentially consistent, with the commit stage's "has finished" flag: see ThreadedCommitStage.
  std::atomic<bool> busy_{false};
  std::atomic<unsigned long> signals_{0};

  std::mutex pacer_mutex_;
  std::condition_variable pacer_wanted_;
  // Loop passes the pacer keeps turning for: raised under pacer_mutex_ (with a notify), counted down
  // by the broker thread at each TICK.
  std::atomic<long> passes_left_{0};
  bool stopping_ = false;                               // guarded by pacer_mutex_
  std::thread pacer_;
};

}  // namespace chat::plugin
