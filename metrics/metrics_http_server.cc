#include "metrics/metrics_http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

namespace chat::metrics {

MetricsHttpServer::MetricsHttpServer() = default;

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

core::Status MetricsHttpServer::Start(const std::string& address, int port, std::function<std::string()> render) {
  server_ = std::make_unique<httplib::Server>();
  // One scrape at a time is plenty; the default pool would start a thread per core.
  server_->new_task_queue = [] { return new httplib::ThreadPool(1); };
  // httplib's default also sets SO_REUSEPORT, with which a second server on the same port would start
  // and take every other scrape: an operator's mistake must fail instead.
  server_->set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server_->Get("/metrics", [render](const httplib::Request&, httplib::Response& response) {
    response.set_content(render(), "text/plain; version=0.0.4");
  });
  if (!server_->bind_to_port(address.c_str(), port)) {
    server_.reset();
    return core::Status::Error(core::ErrorCode::kIoError,
                               "metrics: cannot listen on " + address + ":" + std::to_string(port));
  }
  finished_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    finished_ = true;
  });
  return core::Status::Ok();
}

void MetricsHttpServer::Stop() {
  // httplib's stop() does nothing until the listening loop runs, so a stop right after Start would be
  // lost: repeat it until the loop is over.
  while (thread_.joinable() && !finished_) {
    server_->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace chat::metrics
