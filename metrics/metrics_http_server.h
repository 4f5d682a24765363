// MetricsHttpServer: serves GET /metrics (Prometheus text) on one address and port from threads of its
// own (cpp-httplib). Nothing else is served, and metrics hold no secrets; the address is the operator's
// choice (loopback by default).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"

namespace httplib {
class Server;
}

namespace chat::metrics {

class MetricsHttpServer {
 public:
  MetricsHttpServer();
  ~MetricsHttpServer();  // stops it
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Binds `address`:`port` and serves GET /metrics from `render`, which runs on the server's threads;
  // kIoError when it cannot listen.
  core::Status Start(const std::string& address, int port, std::function<std::string()> render);
  void Stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

}  // namespace chat::metrics
