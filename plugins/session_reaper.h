// SessionReaper: ends offline sessions the broker keeps, for which Mosquitto 2.0 has no plugin call
// (kicking a disconnected client does nothing). A thread of its own connects to the broker's plain MQTT
// listener with the session's client id and clean start, so the broker discards the old session, and
// disconnects at once. It logs in as the session's user with a random secret of this process, which
// BASIC_AUTH recognises (IsReaperLogin); such a connection may do nothing else. The thread never calls
// the broker's functions: it is just another client on the socket.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace chat::plugin {

class SessionReaper {
 public:
  // Reaches the broker at `host`:`port` (an IPv4 address); nullptr if the process has no random source.
  static std::unique_ptr<SessionReaper> Create(std::string host, int port);
  ~SessionReaper();  // drops what is queued, finishes the connection in hand, joins

  // True when `password` is this process's reaper secret (compared in constant time).
  bool IsReaperLogin(std::string_view password) const;
  // Queues ending the offline session `client_id` of `user_id`; false when too many wait already.
  bool End(std::string user_id, std::string client_id);
  // Sessions ended, and attempts that failed (the broker did not accept the connection), so far.
  std::size_t ended() const { return ended_; }
  std::size_t failed() const { return failed_; }

 private:
  SessionReaper(std::string host, int port, std::string secret);
  void Run();

  std::string host_;
  int port_;
  std::string secret_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<std::string, std::string>> queue_;  // (user, client id)
  bool stopping_ = false;
  std::atomic<std::size_t> ended_{0};
  std::atomic<std::size_t> failed_{0};
  std::thread thread_;
};

}  // namespace chat::plugin
