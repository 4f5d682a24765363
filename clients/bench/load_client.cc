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
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

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

std::string RaiseOpenFileLimit(int devices) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::string("getrlimit: ") + std::strerror(errno);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return std::string("setrlimit: ") + std::strerror(errno);
  }
  // What a process usually starts with (1,024) is left for everything else: RocksDB's files, logs, pipes.
  rlim_t needed = static_cast<rlim_t>(devices) + 1024;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    return "the open-file limit (" + std::to_string(limit.rlim_cur) + ") is below the " + std::to_string(needed) +
           " that " + std::to_string(devices) + " devices need";
  }
  return "";
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

std::string LoadClientId(const std::string& user, bool with_plugin) {
  return with_plugin ? user + ":bench" : "bench-" + user;
}

mosquitto* NewLoadClient(const std::string& client_id, bool clean_session, void* data) {
  mosquitto* client = mosquitto_new(client_id.c_str(), clean_session, data);
  if (client == nullptr) return nullptr;
  mosquitto_int_option(client, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(client, MOSQ_OPT_TCP_NODELAY, 1);
  return client;
}

const char* FindStamp(const void* payload, int length) {
  if (payload == nullptr || length <= 0) return nullptr;
  return static_cast<const char*>(
      memmem(payload, static_cast<std::size_t>(length), kStampMarker, sizeof(kStampMarker) - 1));
}

SendReply ReadSendReply(const void* payload, int length, char prefix) {
  SendReply reply;
  if (payload == nullptr || length <= 0) return reply;
  std::string_view text(static_cast<const char*>(payload), static_cast<std::size_t>(length));
  const std::string cmid_marker = std::string("\"cmid\":\"") + prefix;
  std::size_t cmid = text.find(cmid_marker);
  if (cmid != std::string_view::npos) {
    const char* digits = text.data() + cmid + cmid_marker.size();
    char* dash = nullptr;
    reply.sender = std::strtoll(digits, &dash, 10);
    if (dash != nullptr && *dash == '-') {
      reply.n = std::strtoll(dash + 1, nullptr, 10);
    } else {
      reply.sender = -1;
    }
  }
  if (text.find("\"type\":\"ack\"") != std::string_view::npos) {
    reply.kind = reply.n >= 0 ? SendReply::Kind::kAck : SendReply::Kind::kOther;
  } else if (text.find("\"type\":\"error\"") != std::string_view::npos) {
    reply.kind = SendReply::Kind::kError;
  }
  return reply;
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
                         const std::function<bool()>& done, const std::function<void()>& each_pass, int poll_ms) {
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
    if (poll(fds.data(), fds.size(), poll_ms) < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
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

std::string AwaitConnacks(const std::vector<mosquitto*>& clients, Clock::time_point deadline, int timeout_seconds,
                          const std::function<int(std::size_t)>& connack,
                          const std::function<std::string(std::size_t)>& refused, const std::string& what) {
  std::string error = DriveClients(clients, deadline, timeout_seconds, [&] {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (connack(i) < 0) return false;
    }
    return true;
  });
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (connack(i) > 0) return refused(i);
  }
  if (!error.empty()) return what + ": " + error;
  return "";
}

void DisconnectAll(const std::vector<mosquitto*>& clients) {
  std::vector<mosquitto*> connected;
  for (mosquitto* client : clients) {
    if (client != nullptr && mosquitto_disconnect(client) == MOSQ_ERR_SUCCESS) connected.push_back(client);
  }
  for (mosquitto* client : connected) mosquitto_loop_write(client, 1);
}

ClientPool::~ClientPool() {
  for (mosquitto* client : clients_) mosquitto_destroy(client);
}

mosquitto* ClientPool::New(const std::string& client_id, bool clean_session, void* data) {
  mosquitto* client = NewLoadClient(client_id, clean_session, data);
  if (client != nullptr) clients_.push_back(client);
  return client;
}

void ClientPool::Destroy(mosquitto* client) {
  auto it = std::find(clients_.begin(), clients_.end(), client);
  if (it == clients_.end()) return;
  mosquitto_destroy(client);
  clients_.erase(it);
}

namespace {

struct RequestState {
  std::string request_topic;
  std::string payload;
  std::string rid_field;
  int connack = -1;
  bool answered = false;
  std::string reply;
};

}  // namespace

std::string RequestOnce(int port, const std::string& user, const std::string& password, const std::string& device,
                        const std::string& request_topic, const std::string& payload, const std::string& rid,
                        std::chrono::seconds timeout, std::string* reply) {
  auto deadline = Clock::now() + timeout;
  std::string error;
  while (Clock::now() < deadline) {
    RequestState state;
    state.request_topic = request_topic;
    state.payload = payload;
    state.rid_field = "\"rid\":\"" + rid + "\"";
    std::string client_id = user + ":" + device;
    mosquitto* client = NewLoadClient(client_id, true, &state);
    if (client == nullptr) return "mosquitto_new failed for " + client_id;
    mosquitto_username_pw_set(client, user.c_str(), password.c_str());
    mosquitto_connect_v5_callback_set(client, [](mosquitto* c, void* data, int reason, int, const mosquitto_property*) {
      auto* s = static_cast<RequestState*>(data);
      s->connack = reason;
      if (reason != 0) return;
      // Replies are published to this client id; no subscription is needed for them.
      mosquitto_publish_v5(c, nullptr, s->request_topic.c_str(), static_cast<int>(s->payload.size()),
                           s->payload.data(), 1, false, nullptr);
    });
    mosquitto_message_v5_callback_set(client, [](mosquitto*, void* data, const mosquitto_message* message,
                                                 const mosquitto_property*) {
      auto* s = static_cast<RequestState*>(data);
      std::string text(static_cast<const char*>(message->payload), static_cast<std::size_t>(message->payloadlen));
      if (text.find(s->rid_field) == std::string::npos) return;
      s->answered = true;
      s->reply = std::move(text);
    });
    int rc = mosquitto_connect_bind_v5(client, "127.0.0.1", port, 60, nullptr, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_destroy(client);
      return std::string("connect: ") + mosquitto_strerror(rc);
    }
    int seconds = static_cast<int>(timeout.count());
    error = DriveClients({client}, deadline, seconds,
                         [&] { return state.answered || (state.connack > 0); });
    DisconnectAll({client});
    mosquitto_destroy(client);
    if (state.answered) {
      *reply = std::move(state.reply);
      return "";
    }
    if (state.connack > 0) return "login refused (CONNACK " + std::to_string(state.connack) + ")";
    // Closed without a CONNACK: the password is being checked off the broker thread; ask again.
    if (state.connack == -1 && error.rfind("connection lost", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    return error;
  }
  return error.empty() ? "no reply within " + std::to_string(timeout.count()) + " s" : error;
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

std::string RequestSession::Connect(int port, const std::string& user, const std::string& password,
                                    Clock::time_point deadline, int timeout_seconds) {
  deadline_ = deadline;
  timeout_seconds_ = timeout_seconds;
  client_ = pool_.New(user + ":bench", true, this);
  if (client_ == nullptr) return "cannot make a client";
  mosquitto_username_pw_set(client_, user.c_str(), password.c_str());
  mosquitto_connect_v5_callback_set(client_, [](mosquitto*, void* data, int rc, int, const mosquitto_property*) {
    static_cast<RequestSession*>(data)->connack_ = rc;
  });
  mosquitto_message_v5_callback_set(client_, [](mosquitto*, void* data, const mosquitto_message* message,
                                                 const mosquitto_property*) {
    auto* session = static_cast<RequestSession*>(data);
    std::string payload(static_cast<const char*>(message->payload), message->payloadlen);
    if (session->reply_.empty() && payload.find("\"rid\":\"" + session->awaited_rid_ + "\"") != std::string::npos) {
      session->reply_ = std::move(payload);
    }
  });
  if (mosquitto_connect_bind_v5(client_, "127.0.0.1", port, 60, nullptr, nullptr) != MOSQ_ERR_SUCCESS) {
    return "cannot connect";
  }
  return AwaitConnacks({client_}, deadline_, timeout_seconds_, [this](std::size_t) { return connack_; },
                       [](std::size_t) { return "login refused"; }, "connecting");
}

std::string RequestSession::Ask(const std::string& topic, const std::string& rid, const std::string& payload,
                                std::string* reply, std::int64_t* took_ns) {
  awaited_rid_ = rid;
  reply_.clear();
  std::int64_t start = NowNs();
  mosquitto_publish_v5(client_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false,
                       nullptr);
  std::string error = DriveClients({client_}, deadline_, timeout_seconds_, [this] { return !reply_.empty(); });
  if (!error.empty()) return error;
  *took_ns = NowNs() - start;
  *reply = std::move(reply_);
  reply_.clear();
  return "";
}

void RequestSession::Disconnect() {
  if (client_ != nullptr) DisconnectAll({client_});
}

}  // namespace chat::bench
