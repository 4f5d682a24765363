// chat-cli: a terminal client for the chat server (docs/PROTOCOL.md): send one message, listen to
// everything, page through a conversation's history, or talk with one peer interactively.
//   chat-cli --user alice --password-file alice.pw talk bob
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "clients/common/broker_address.h"
#include "clients/common/connect_retry.h"
#include "core/names.h"
#include "core/topic_format.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;      // the server refused a request, or did not answer in time
constexpr int kExitConnection = 2;  // could not log in, or lost the connection
constexpr auto kReplyTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxInputLine = 1 << 20;  // bytes of one `talk` line

volatile std::sig_atomic_t g_stop = 0;

void OnStopSignal(int) { g_stop = 1; }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART, so a poll() in progress returns at once and the loops notice g_stop.
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Thrown for anything that means the session is unusable; main turns it into exit code 2.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  chat::clients::BrokerAddress broker;
  std::string user;
  std::string password;
  std::string password_file;
  std::string device = "cli";
  std::string peer;
  std::vector<std::string> text_words;
  std::string before;
  std::string after;
  int limit = 0;  // 0: the server's default
  bool oldest_first = false;
};

// cmids only need to be unique per sender; 64 random bits make a clash between runs (and between the
// user's devices, which share the sender) practically impossible without keeping any state.
std::string NewClientMessageId() {
  static std::mt19937_64 generator{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  std::uint64_t bits = generator();
  std::string id = "cli-";
  for (int shift = 60; shift >= 0; shift -= 4) id += kHex[(bits >> shift) & 0xf];
  return id;
}

std::string FormatLocalTime(std::int64_t ms, const char* format) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[64];
  std::strftime(text, sizeof(text), format, &local);
  return text;
}

// "[HH:MM:SS] from -> to: text" for a message object of an event or a history page.
std::string FormatMessage(const json& message, const char* time_format = "%H:%M:%S") {
  return "[" + FormatLocalTime(message.value("ts", std::int64_t{0}), time_format) + "] " + message.value("from", "?") +
         " -> " + message.value("to", "?") + ": " + message.value("text", "");
}

std::string ErrorLine(const json& reply) {
  return "error " + reply.value("code", "unknown") + ": " + reply.value("message", "");
}

struct Incoming {
  std::string topic;
  json body;  // discarded when the payload is not JSON
};

// One logged-in device: a Paho client whose received messages are consumed from a queue, so every
// command runs in one thread and never needs a lock.
class ChatSession {
 public:
  explicit ChatSession(const Options& options)
      : options_(options),
        reply_topic_(chat::core::UserTopic(options.user, chat::core::kReplyKind)),
        client_(chat::clients::BrokerUri(options.broker), options.user + ":" + options.device,
                mqtt::create_options(MQTTVERSION_5)) {}

  ~ChatSession() {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(5));
    } catch (const mqtt::exception&) {
      // Leaving anyway; the broker notices the closed socket.
    }
  }

  ChatSession(const ChatSession&) = delete;
  ChatSession& operator=(const ChatSession&) = delete;

  const std::string& user() const { return options_.user; }

  // Logs in and subscribes to the user's own topics (the only subscription the server allows).
  void Open() {
    auto connect = mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_5)
                       .clean_start(true)
                       .user_name(options_.user)
                       .password(options_.password)
                       .connect_timeout(std::chrono::seconds(10))
                       .keep_alive_interval(std::chrono::seconds(30));
    if (options_.broker.tls) connect.ssl(chat::clients::TlsOptions(options_.broker));
    client_.start_consuming();
    std::string where = options_.broker.host + ":" + std::to_string(options_.broker.port);
    try {
      chat::clients::ConnectWithRetry(client_, connect.finalize());
    } catch (const mqtt::exception& e) {
      // Paho 1.2 reports a refused MQTT 5 CONNACK's reason in the return code, not the reason code.
      auto refused = [](int code) {
        return code == mqtt::ReasonCode::NOT_AUTHORIZED || code == mqtt::ReasonCode::BAD_USER_NAME_OR_PASSWORD ||
               code == mqtt::ReasonCode::CLIENT_IDENTIFIER_NOT_VALID;
      };
      if (refused(e.get_return_code()) || refused(e.get_reason_code())) {
        // The server deliberately does not say which of these it was.
        throw ConnectionError("login to " + where + " refused: wrong user or password, bad device id, or too " +
                              "many sessions or devices");
      }
      throw ConnectionError("cannot connect to " + where + ": " + e.what());
    }
    std::string filter = chat::core::UserTopic(options_.user, "#");
    try {
      auto token = client_.subscribe(filter, 1);
      token->wait();
      auto codes = token->get_subscribe_response().get_reason_codes();
      if (codes.empty() || codes[0] >= 0x80) throw ConnectionError("the server refused the subscription " + filter);
    } catch (const mqtt::exception& e) {
      throw ConnectionError("cannot subscribe to " + filter + ": " + e.what());
    }
  }

  // Publishes a request at QoS 1 without waiting: the answer that matters arrives on the reply topic
  // (a refused request also gets PUBACK 0x87, but the reply says why).
  void Request(chat::core::RequestOp op, const json& body) { Publish(op, body, 1); }

  // The next received message within `timeout`, or nullopt. Throws when the connection is lost. Keeps
  // the user's presence while it waits: a heartbeat when nothing was sent for kHeartbeatInterval.
  std::optional<Incoming> Next(std::chrono::milliseconds timeout) {
    if (Clock::now() - last_sent_ >= kHeartbeatInterval) Publish(chat::core::RequestOp::kHeartbeat, json::object(), 0);
    mqtt::const_message_ptr message;
    if (!client_.try_consume_message_for(&message, timeout)) {
      if (!client_.is_connected()) throw ConnectionError(LostConnectionMessage());
      return std::nullopt;
    }
    // Paho queues an empty message when the connection drops.
    if (!message) throw ConnectionError(LostConnectionMessage());
    return Incoming{message->get_topic(), json::parse(message->to_string(), nullptr, false)};
  }

  bool IsReply(const Incoming& in) const { return in.topic == reply_topic_ && in.body.is_object(); }
  static bool IsMessageEvent(const Incoming& in) {
    return in.body.is_object() && in.body.value("type", "") == "message";
  }

  // Waits (bounded) for the reply whose `key` field equals `value`; other messages are dropped.
  std::optional<json> WaitForReply(const std::string& key, const std::string& value) {
    auto deadline = Clock::now() + kReplyTimeout;
    while (!g_stop && Clock::now() < deadline) {
      auto in = Next(std::chrono::milliseconds(100));
      if (in && IsReply(*in) && in->body.value(key, "") == value) return in->body;
    }
    return std::nullopt;
  }

 private:
  // A connected device that sends nothing for presence.timeout_seconds (30 s by default) is shown offline;
  // PROTOCOL.md asks for a heartbeat every 5 s.
  static constexpr std::chrono::seconds kHeartbeatInterval{5};

  void Publish(chat::core::RequestOp op, const json& body, int qos) {
    try {
      client_.publish(mqtt::make_message(chat::core::RequestTopic(op), body.dump(), qos, false));
      last_sent_ = Clock::now();
    } catch (const mqtt::exception& e) {
      throw ConnectionError(std::string("cannot publish: ") + e.what());
    }
  }

  std::string LostConnectionMessage() const {
    // Mosquitto 2.0.11 closes a taken-over session without saying so; the usual cause is two chat-cli
    // commands running with the same --device (default "cli") at once.
    return "connection to the server lost (did another client log in as " + options_.user + ":" + options_.device +
           "? give each terminal its own --device)";
  }

  const Options& options_;
  std::string reply_topic_;
  mqtt::async_client client_;
  Clock::time_point last_sent_ = Clock::now();
};

int RunSend(ChatSession& session, const Options& options) {
  std::string text;
  for (const std::string& word : options.text_words) text += (text.empty() ? "" : " ") + word;
  std::string cmid = NewClientMessageId();
  // Sent means stored: the ack with the server id, not the broker's PUBACK. Without one the send is
  // repeated with the same cmid, which the server stores once however many copies arrive.
  constexpr int kAttempts = 3;
  std::optional<json> reply;
  for (int attempt = 0; attempt < kAttempts && !reply && !g_stop; ++attempt) {
    session.Request(chat::core::RequestOp::kSend, {{"to", options.peer}, {"text", text}, {"cmid", cmid}});
    reply = session.WaitForReply("cmid", cmid);
  }
  if (!reply) {
    std::cerr << (g_stop ? "interrupted" : "no answer from the server after 3 tries of 10 s") << "\n";
    return kExitFailed;
  }
  if (reply->value("type", "") == "ack") {
    std::cout << "sent " << reply->value("id", "") << "\n";
    return kExitOk;
  }
  std::cerr << ErrorLine(*reply) << "\n";
  return kExitFailed;
}

int RunListen(ChatSession& session) {
  while (!g_stop) {
    auto in = session.Next(std::chrono::milliseconds(200));
    if (in && ChatSession::IsMessageEvent(*in)) std::cout << FormatMessage(in->body) << std::endl;
  }
  return kExitOk;
}

int RunHistory(ChatSession& session, const Options& options) {
  std::string rid = NewClientMessageId();
  json request = {
      {"rid", rid}, {"peer", options.peer}, {"order", options.oldest_first ? "oldest_first" : "newest_first"}};
  if (!options.before.empty()) request["before"] = options.before;
  if (!options.after.empty()) request["after"] = options.after;
  if (options.limit > 0) request["limit"] = options.limit;
  session.Request(chat::core::RequestOp::kHistory, request);
  auto reply = session.WaitForReply("rid", rid);
  if (!reply) {
    std::cerr << (g_stop ? "interrupted" : "no answer from the server within 10 s") << "\n";
    return kExitFailed;
  }
  if (reply->value("type", "") != "history") {
    std::cerr << ErrorLine(*reply) << "\n";
    return kExitFailed;
  }
  std::vector<json> messages = reply->value("messages", std::vector<json>{});
  if (!options.oldest_first) std::reverse(messages.begin(), messages.end());
  bool more = reply->value("more", false);
  // "(more)" stands where the rest of the conversation is: above the page when paging back, below it
  // when paging forward. The id in front of each line is what --before / --after take.
  if (more && !options.oldest_first) std::cout << "(more)\n";
  for (const json& message : messages) {
    std::cout << message.value("id", "") << " " << FormatMessage(message, "%Y-%m-%d %H:%M:%S") << "\n";
  }
  if (more && options.oldest_first) std::cout << "(more)\n";
  return kExitOk;
}

// Interactive conversation. One thread: poll stdin briefly, then drain what the broker sent, so
// incoming lines show within ~50 ms and no locking is needed.
int RunTalk(ChatSession& session, const Options& options) {
  const std::string& me = session.user();
  const std::string& peer = options.peer;
  std::set<std::string> pending;    // cmids sent from here and not yet answered
  std::set<std::string> sent_here;  // every cmid sent from here, to skip their echo whenever it comes
  int failures = 0;

  auto handle = [&](const Incoming& in) {
    if (ChatSession::IsMessageEvent(in)) {
      const json& m = in.body;
      std::string from = m.value("from", "");
      std::string to = m.value("to", "");
      bool in_conversation = (from == peer && to == me) || (from == me && to == peer);
      // What this device sent is already on the screen as typed; other devices' sends are not.
      if (in_conversation && !(from == me && sent_here.contains(m.value("cmid", "")))) {
        std::cout << FormatMessage(m) << std::endl;
      }
      return;
    }
    if (!session.IsReply(in)) return;
    std::string cmid = in.body.value("cmid", "");
    if (pending.erase(cmid) == 0) return;
    if (in.body.value("type", "") == "error") {
      std::cerr << ErrorLine(in.body) << std::endl;
      ++failures;
    }
  };

  std::string buffer;
  bool skipping_line = false;  // the rest of an over-long line
  bool input_open = true;
  while (input_open && !g_stop) {
    pollfd input{STDIN_FILENO, POLLIN, 0};
    int ready = poll(&input, 1, 50);
    if (ready > 0) {
      char chunk[4096];
      ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
      if (n > 0) {
        buffer.append(chunk, static_cast<std::size_t>(n));
        // Far beyond any text the server accepts: drop it rather than let memory grow without bound.
        if (buffer.size() > kMaxInputLine && buffer.find('\n') == std::string::npos) {
          if (!skipping_line) std::cerr << "line longer than " << kMaxInputLine << " bytes: not sent" << std::endl;
          skipping_line = true;
          buffer.clear();
        }
      } else if (n == 0 || errno != EINTR) {
        input_open = false;
        if (!buffer.empty()) buffer += '\n';  // a last line without a newline is still a line
      }
      for (std::size_t end; (end = buffer.find('\n')) != std::string::npos; buffer.erase(0, end + 1)) {
        std::string line = buffer.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (std::exchange(skipping_line, false) || line.empty()) continue;
        std::string cmid = NewClientMessageId();
        pending.insert(cmid);
        sent_here.insert(cmid);
        session.Request(chat::core::RequestOp::kSend, {{"to", peer}, {"text", line}, {"cmid", cmid}});
      }
    }
    while (auto in = session.Next(std::chrono::milliseconds(0))) handle(*in);
  }

  // Wait for the answers to the last lines, so nothing typed is lost silently on EOF.
  auto deadline = Clock::now() + kReplyTimeout;
  while (!pending.empty() && !g_stop && Clock::now() < deadline) {
    if (auto in = session.Next(std::chrono::milliseconds(100))) handle(*in);
  }
  if (!pending.empty()) {
    std::cerr << "no answer from the server for " << pending.size() << " message(s)\n";
    return kExitFailed;
  }
  return failures == 0 ? kExitOk : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"chat-cli: send, receive and browse chat messages"};
  app.require_subcommand(1);
  app.add_option("--host", options.broker.host, "broker address")->capture_default_str();
  app.add_option("--port", options.broker.port, "broker MQTT port (the WebSocket port with --websocket)")
      ->capture_default_str();
  app.add_flag("--websocket", options.broker.websocket, "connect over MQTT-over-WebSocket (e.g. --port 8080)");
  app.add_flag("--tls", options.broker.tls, "connect over TLS (e.g. --port 8883), verifying the server's certificate");
  app.add_option("--cafile", options.broker.ca_file, "CA the server's certificate must chain to (default: the system's)");
  app.add_option("--cert", options.broker.cert_file, "client certificate, for servers that require one");
  app.add_option("--key", options.broker.key_file, "its private key");
  app.add_option("--user", options.user, "your user id")->required();
  CLI::Option* password = app.add_option("--password", options.password, "your password (visible to ps)");
  CLI::Option* password_file =
      app.add_option("--password-file", options.password_file, "file whose first line is your password");
  password->excludes(password_file);
  app.add_option("--device", options.device, "device id; the client id is <user>:<device>")->capture_default_str();

  CLI::App* send = app.add_subcommand("send", "send one message and print its id");
  send->add_option("peer", options.peer, "recipient")->required();
  send->add_option("text", options.text_words, "message text (the words are joined by spaces)")->required();

  app.add_subcommand("listen", "print every message to or from you until Ctrl-C");

  CLI::App* history = app.add_subcommand("history", "print a page of the conversation with PEER, oldest first");
  history->add_option("peer", options.peer, "the other user")->required();
  history->add_option("--before", options.before, "only messages older than this id");
  history->add_option("--after", options.after, "only messages newer than this id");
  history->add_option("--limit", options.limit, "page size (server default 50, at most 100)")
      ->check(CLI::Range(1, 1000));
  history->add_flag("--oldest-first", options.oldest_first,
                    "the page starts at the oldest message (after --after) instead of the newest");

  CLI::App* talk = app.add_subcommand("talk", "chat with PEER: stdin lines are sent, their messages printed");
  talk->add_option("peer", options.peer, "the other user")->required();
  CLI11_PARSE(app, argc, argv);

  try {
    if (auto s = chat::core::ValidateUserId(options.user); !s.ok()) {
      std::cerr << "chat-cli: --user: " << s.ToString() << "\n";
      return kExitConnection;
    }
    if (auto s = chat::core::ValidateDeviceId(options.device); !s.ok()) {
      std::cerr << "chat-cli: --device: " << s.ToString() << "\n";
      return kExitConnection;
    }
    if (password->count() == 0 && password_file->count() == 0) {
      std::cerr << "chat-cli: give --password or --password-file\n";
      return kExitConnection;
    }
    if (!options.password_file.empty()) {
      std::ifstream in(options.password_file);
      if (!in || !std::getline(in, options.password)) {
        std::cerr << "chat-cli: cannot read " << options.password_file << "\n";
        return kExitConnection;
      }
      if (!options.password.empty() && options.password.back() == '\r') options.password.pop_back();
    }
    InstallStopHandlers();
    ChatSession session(options);
    session.Open();
    if (send->parsed()) return RunSend(session, options);
    if (history->parsed()) return RunHistory(session, options);
    if (talk->parsed()) return RunTalk(session, options);
    return RunListen(session);
  } catch (const ConnectionError& e) {
    std::cerr << "chat-cli: " << e.what() << "\n";
    return kExitConnection;
  } catch (const std::exception& e) {
    std::cerr << "chat-cli: " << e.what() << "\n";
    return kExitFailed;
  }
}
