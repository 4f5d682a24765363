// ConnectionService: what the server decides about connections, independent of Mosquitto: who may log
// in (and with which client id and keepalive), which sessions a login ends, what each connection (or
// the offline session it left) may publish, subscribe to and receive, and what a logout, a lost
// connection or an account change does to presence. The plugin turns broker events into these calls
// and applies the answers (CONNACK or not, kicks, the session reaper, publishes).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/access_policy.h"
#include "core/authenticator.h"
#include "core/chat_service.h"
#include "core/outbox.h"
#include "core/server_metrics.h"
#include "core/session_registry.h"
#include "core/settings.h"

namespace chat::core {

struct LoginRequest {
  SessionRegistry::Handle handle = nullptr;  // the broker's connection
  std::string_view username;
  std::string_view password;
  std::string_view client_id;
  std::string_view address;  // the client's source address
  int keepalive_seconds = 0;
  bool clean_start = true;
  int protocol_version = 4;  // 3 (3.1), 4 (3.1.1) or 5
  // The connection is the session reaper's (the adapter checked its secret): it may only end a session.
  bool reaper = false;
};

struct LoginDecision {
  enum class Verdict {
    kAdmit,
    kRefuse,    // CONNACK "not authorized"
    kTryAgain,  // close without a CONNACK: the password is being checked, the client reconnects
  };
  Verdict verdict = Verdict::kRefuse;
  LoginResult result = LoginResult::kRefusedClient;  // why, for the metrics
  // Offline sessions of the user to end now (oldest first), so they stay within their session cap.
  std::vector<std::string> sessions_to_end;
  // Set when the store failed (worth logging; the login is refused).
  Status failure;
};

// What an account change asks of the adapter.
struct AccountChange {
  // Offline sessions the account left in the broker, to end (a deleted account's are never resumed).
  std::vector<std::string> sessions_to_end;
};

// Not thread-safe (broker thread only). Borrows everything.
class ConnectionService {
 public:
  // `can_end_sessions`: whether the adapter can end offline sessions (it has a reaper); without, a new
  // device past the session cap is refused instead.
  ConnectionService(const Limits& limits, const PushSettings& push, Authenticator& authenticator,
                    SessionRegistry& sessions, ChatService& chat, bool can_end_sessions);

  // BASIC_AUTH, counted in the metrics. On kAdmit the connection is registered and counts as a device (presence changes are in
  // `outbox`); if CONNACK still fails, Disconnected follows.
  LoginDecision Login(const LoginRequest& request, Outbox& outbox);
  // DISCONNECT, for any way a connection ends.
  void Disconnected(SessionRegistry::Handle handle, Outbox& outbox);

  // ACL_CHECK for `handle` (a live connection, or the offline session a connection of ours left behind,
  // which logged in as `username`). `retain`: the publish's retain flag (for kWrite).
  bool MayAccess(SessionRegistry::Handle handle, std::string_view username, TopicAccess access,
                 std::string_view topic, bool retain);

  // MESSAGE: which request a publish on `topic` is (kUnknown: not a request). The WRITE check just
  // before it parsed the same topic; its answer is reused when it was about this very publish (the
  // same connection and the same topic string), so a request's topic is parsed once.
  RequestOp RequestOf(SessionRegistry::Handle handle, std::string_view topic);
  // MESSAGE: a request from a live connection. Ok, or the error (already replied to the caller);
  // kNotAllowed without a reply when the connection is not one of ours.
  Status Request(SessionRegistry::Handle handle, RequestOp op, std::string_view payload, Outbox& outbox);

  // The admin caller of a $CONTROL request, or nullptr when `handle` is not a live admin connection.
  const Session* Admin(SessionRegistry::Handle handle) const;

  // A password changed or an account went: cached logins are forgotten and its live connections are
  // no longer ours (the adapter kicks them: they logged in with credentials that no longer hold).
  AccountChange CredentialsChanged(const std::string& user_id, bool deleted, Outbox& outbox);

 private:
  LoginDecision Decide(const LoginRequest& request, Outbox& outbox);

  const Limits& limits_;
  const PushSettings& push_;
  Authenticator& authenticator_;
  SessionRegistry& sessions_;
  ChatService& chat_;
  PresenceService& presence_;  // chat_'s: connections and logouts are presence changes
  bool can_end_sessions_;
  // The last WRITE check of a request topic: the MESSAGE event for that publish follows it directly.
  struct CheckedWrite {
    SessionRegistry::Handle handle = nullptr;
    const char* topic = nullptr;
    std::size_t topic_size = 0;
    RequestOp op = RequestOp::kUnknown;
  };
  CheckedWrite checked_write_;
};

}  // namespace chat::core
