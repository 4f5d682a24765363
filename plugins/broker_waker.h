// BrokerWaker: how a plugin thread gets the broker's event loop to run its TICK now rather than at the
// end of its 100 ms epoll_wait. Another thread may not call mosquitto_broker_publish, so what the commit
// stage finishes is published from TICK; waiting for the idle timeout would hold every chat ack for up
// to 100 ms. The waker interrupts the wait with a signal aimed at the broker thread alone: epoll_wait
// then returns EINTR (which Mosquitto 2.0.11 ignores) and the loop goes on to TICK. See
// docs/PERFORMANCE.md for why a signal and not a loopback connection or a pipe.
#pragma once

#include <functional>

namespace chat::plugin {

// Call on the broker thread (in mosquitto_plugin_init). Installs a handler that does nothing for the
// waking signal and returns the function that sends it to this thread; it may be called from any
// thread, costs one system call, and is harmless when the loop is not waiting.
std::function<void()> WakerForThisThread();

}  // namespace chat::plugin
