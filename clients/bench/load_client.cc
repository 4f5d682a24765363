// The benchmarks' shared load-generator pieces: one poll() loop over many libmosquitto clients (no
// client threads, so the generator stays on one core), stamps, percentiles and signals.
#include "clients/bench/load_client.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace chat::bench {
namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted = true; }

}  // namespace

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double CpuSeconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void InstallSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool Interrupted() { return g_interrupted; }

const char* FindStamp(const void* payload, int length) {
  if (payload == nullptr || length <= 0) return nullptr;
  return static_cast<const char*>(
      memmem(payload, static_cast<std::size_t>(length), kStampMarker, sizeof(kStampMarker) - 1));
}

int ReadAvailable(mosquitto* client) {
  for (int i = 0; i < 256; ++i) {
    errno = 0;
    int rc = mosquitto_loop_read(client, 1);
    if (rc != MOSQ_ERR_SUCCESS) return rc;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
  }
  return MOSQ_ERR_SUCCESS;
}

std::string DriveClients(const std::vector<mosquitto*>& clients, Clock::time_point deadline, int timeout_seconds,
                         const std::function<bool()>& done, const std::function<void()>& each_pass) {
  std::vector<pollfd> fds(clients.size());
  auto next_misc = Clock::now();
  while (!done()) {
    if (g_interrupted) return "interrupted";
    auto now = Clock::now();
    if (now >= deadline) return "timed out after " + std::to_string(timeout_seconds) + " s";
    if (each_pass) each_pass();
    for (std::size_t i = 0; i < clients.size(); ++i) {
      fds[i].fd = mosquitto_socket(clients[i]);
      fds[i].events = static_cast<short>(POLLIN | (mosquitto_want_write(clients[i]) ? POLLOUT : 0));
      fds[i].revents = 0;
    }
    if (poll(fds.data(), fds.size(), 10) < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      mosquitto* client = clients[i];
      if (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
        if (int rc = ReadAvailable(client); rc != MOSQ_ERR_SUCCESS) {
          return std::string("connection lost: ") + mosquitto_strerror(rc);
        }
      }
      // Packets queued inside callbacks (e.g. PUBACKs) go out now rather than after another poll.
      if ((fds[i].revents & POLLOUT) || mosquitto_want_write(client)) {
        if (int rc = mosquitto_loop_write(client, 1); rc != MOSQ_ERR_SUCCESS) {
          return std::string("connection lost: ") + mosquitto_strerror(rc);
        }
      }
    }
    if (now >= next_misc) {
      for (mosquitto* client : clients) mosquitto_loop_misc(client);  // keepalive pings
      next_misc = now + std::chrono::seconds(1);
    }
  }
  return "";
}

void DisconnectAll(const std::vector<mosquitto*>& clients) {
  std::vector<mosquitto*> connected;
  for (mosquitto* client : clients) {
    if (client != nullptr && mosquitto_disconnect(client) == MOSQ_ERR_SUCCESS) connected.push_back(client);
  }
  for (mosquitto* client : connected) mosquitto_loop_write(client, 1);
}

LatencySummary Summarize(std::vector<std::int64_t>& latencies_ns) {
  LatencySummary summary;
  if (latencies_ns.empty()) return summary;
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto rank = [&](double p) {
    std::size_t at = static_cast<std::size_t>(std::ceil(p * static_cast<double>(latencies_ns.size())));
    return static_cast<double>(latencies_ns[std::clamp<std::size_t>(at, 1, latencies_ns.size()) - 1]) / 1e6;
  };
  summary.p50_ms = rank(0.50);
  summary.p99_ms = rank(0.99);
  summary.max_ms = static_cast<double>(latencies_ns.back()) / 1e6;
  return summary;
}

}  // namespace chat::bench
