// What the benchmark load generators share: libmosquitto clients serviced by one poll() loop, send-time
// stamps inside message texts, latency percentiles, CPU time and Ctrl-C handling.
#pragma once

#include <mosquitto.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace chat::bench {

using Clock = std::chrono::steady_clock;

// Marks the send time inside a message text; a receiver finds it in the raw payload or in the chat
// server's JSON event (the plugin copies the text verbatim: plain ASCII with nothing to escape).
inline constexpr char kStampMarker[] = "bench-t=";

std::int64_t NowNs();
// User plus system CPU seconds of RUSAGE_SELF or RUSAGE_CHILDREN.
double CpuSeconds(int who);

// Raises this process's soft open-file limit to its hard limit (the broker, which the harness starts
// from here, inherits it): the generator holds a socket per device and the broker another. "" or why
// `devices` devices plus the descriptors everything else needs (1,024) do not fit.
std::string RaiseOpenFileLimit(int devices);

// SIGINT and SIGTERM set Interrupted() (loops stop, results so far are still printed); SIGPIPE is ignored.
void InstallSignalHandlers();
bool Interrupted();

// A load client's id for `user`: "<user>:bench" with the plugin (ids must be "<user>:<device>"),
// "bench-<user>" on bare Mosquitto (ids need only be unique).
std::string LoadClientId(const std::string& user, bool with_plugin);
// A libmosquitto client speaking MQTT 5 with TCP_NODELAY, `data` its callbacks' user data; nullptr when
// it cannot be made.
mosquitto* NewLoadClient(const std::string& client_id, bool clean_session, void* data);

// Owns the load clients of one benchmark phase: each made through it is destroyed with it, so a phase
// holds plain pointers and needs no destructor of its own.
class ClientPool {
 public:
  ClientPool() = default;
  ~ClientPool();
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;
  // NewLoadClient, kept until the pool goes; nullptr when it cannot be made.
  mosquitto* New(const std::string& client_id, bool clean_session, void* data);
  // Destroys `client` now (one made by New; nullptr is ignored).
  void Destroy(mosquitto* client);

 private:
  std::vector<mosquitto*> clients_;
};

// Services `clients` until each has its CONNACK (`connack(i)` of clients[i] is -1 until then). A refused
// login closes the socket right after its CONNACK, so the first refused client is reported
// (`refused(i)`) rather than the lost connection; otherwise "" or "<what>: <error>".
std::string AwaitConnacks(const std::vector<mosquitto*>& clients, Clock::time_point deadline, int timeout_seconds,
                          const std::function<int(std::size_t)>& connack,
                          const std::function<std::string(std::size_t)>& refused, const std::string& what);

// Where kStampMarker starts in `payload`, or nullptr.
const char* FindStamp(const void* payload, int length);

// The plugin's reply to a benchmark send whose cmid is "<prefix><sender>-<n>": a chat ack (stored) or an
// error reply, with the sender and n read from the cmid (-1 when it has none: an error refused before
// the payload was read, such as `busy`). kOther: not a reply to a send of this prefix.
struct SendReply {
  enum class Kind { kAck, kError, kOther };
  Kind kind = Kind::kOther;
  std::int64_t sender = -1;
  std::int64_t n = -1;
};
SendReply ReadSendReply(const void* payload, int length, char prefix);

// mosquitto_loop_read handles about one packet per call when nothing is queued, so keep calling it
// until the socket is drained (it leaves errno at EAGAIN) instead of paying a poll() per packet.
int ReadAvailable(mosquitto* client);

// Services the clients' sockets in one poll() loop until `done` returns true, the deadline passes or
// Ctrl-C; `each_pass` (may be empty) runs before every poll, e.g. to top up senders. Every client must be
// connected (or connecting): a lost one ends the loop. Returns "" or the error ("timed out after
// <timeout_seconds> s", "connection lost: ...", "interrupted"). `poll_ms` bounds each poll: an open-loop
// sender whose sends fall due by the clock needs a short one.
std::string DriveClients(const std::vector<mosquitto*>& clients, Clock::time_point deadline, int timeout_seconds,
                         const std::function<bool()>& done, const std::function<void()>& each_pass = {},
                         int poll_ms = 10);

// Sends DISCONNECT on every connected client (best effort, no waiting).
void DisconnectAll(const std::vector<mosquitto*>& clients);

// One chat request as `user` with client id "<user>:<device>" (MQTT 5, like every load client): connects
// (again, within the timeout, when the broker closes the connection without a CONNACK while it checks
// the password), publishes `payload` on `request_topic` and waits for the reply (sent to this client
// id) that carries `"rid":"<rid>"` (the payload must carry that rid). "" and the reply's
// payload in `reply`, or the error.
std::string RequestOnce(int port, const std::string& user, const std::string& password, const std::string& device,
                        const std::string& request_topic, const std::string& payload, const std::string& rid,
                        std::chrono::seconds timeout, std::string* reply);

// One chat device asking requests one at a time over a connection it keeps (a benchmark's reader):
// Connect, then Ask as often as needed, each reply matched by its rid and timed.
class RequestSession {
 public:
  RequestSession() = default;
  RequestSession(const RequestSession&) = delete;
  RequestSession& operator=(const RequestSession&) = delete;
  // Logs `user` in as "<user>:bench" on the broker's MQTT port; "" or the error. The deadline bounds
  // this and every later Ask.
  std::string Connect(int port, const std::string& user, const std::string& password, Clock::time_point deadline,
                      int timeout_seconds);
  // A rid no earlier request of this session had.
  std::string NextRid() { return "r" + std::to_string(++next_rid_); }
  // Publishes `payload` (a request carrying `"rid":"<rid>"`) on `topic` and waits for the reply with that
  // rid: "" with the reply's payload in `reply` and the round trip in `took_ns`, or the error.
  std::string Ask(const std::string& topic, const std::string& rid, const std::string& payload, std::string* reply,
                  std::int64_t* took_ns);
  void Disconnect();

 private:
  ClientPool pool_;
  mosquitto* client_ = nullptr;
  int connack_ = -1;
  int next_rid_ = 0;
  std::string awaited_rid_;
  std::string reply_;
  Clock::time_point deadline_;
  int timeout_seconds_ = 0;
};

struct LatencySummary {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};
// Nearest-rank percentiles; sorts `latencies_ns`.
LatencySummary Summarize(std::vector<std::int64_t>& latencies_ns);

}  // namespace chat::bench
