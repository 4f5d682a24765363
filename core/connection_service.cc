#include "core/connection_service.h"

#include <algorithm>

#include "core/names.h"

namespace chat::core {

ConnectionService::ConnectionService(const Limits& limits, const PushSettings& push, Authenticator& authenticator,
                                     SessionRegistry& sessions, ChatService& chat, bool can_end_sessions)
    : limits_(limits),
      push_(push),
      authenticator_(authenticator),
      sessions_(sessions),
      chat_(chat),
      presence_(chat.presence()),
      can_end_sessions_(can_end_sessions) {
  chat.DeliverTo([&sessions](const std::string& user_id, std::vector<std::string>* client_ids) {
    sessions.ClientIdsOf(user_id, client_ids);
  });
}

LoginDecision ConnectionService::Login(const LoginRequest& request, Outbox& outbox) {
  LoginDecision decision = Decide(request, outbox);
  if (!request.reaper) chat_.metrics().CountLogin(decision.result);
  chat_.metrics().connections.Set(static_cast<std::int64_t>(sessions_.ConnectionCount()));
  return decision;
}

LoginDecision ConnectionService::Decide(const LoginRequest& request, Outbox& outbox) {
  LoginDecision decision;
  if (request.username.empty() || request.client_id.empty()) return decision;  // no anonymous users
  std::string user(request.username);
  if (request.reaper) {
    Session reaper{user, std::string(request.client_id)};
    reaper.is_reaper = true;
    if (sessions_.Admit(request.handle, std::move(reaper)).status.ok()) decision.verdict = LoginDecision::Verdict::kAdmit;
    return decision;
  }
  // A client id bound to its user: nobody takes over (and so disconnects) another user's session.
  Result<std::string> device = DeviceIdForClient(request.username, request.client_id);
  if (!device.ok()) return decision;
  if (!CheckSessionClientId(request.client_id, request.clean_start).ok()) return decision;
  // Keepalive 0 never times out in Mosquitto 2.0.11 and max_keepalive does not bind MQTT 3.1.1
  // clients, so a silent client could hold its connection forever.
  if (request.keepalive_seconds <= 0 ||
      static_cast<std::uint32_t>(request.keepalive_seconds) > limits_.max_keepalive_seconds) {
    return decision;
  }
  Result<Authenticator::Login> login = authenticator_.Authenticate(request.username, request.password, *device,
                                                                      request.address);
  if (!login.ok()) {
    if (login.status().code() == ErrorCode::kTryAgain) {
      decision.verdict = LoginDecision::Verdict::kTryAgain;
      decision.result = LoginResult::kChecking;
    } else if (login.status().code() == ErrorCode::kNotAllowed) {
      decision.result = LoginResult::kWrongCredentials;
    } else {
      decision.failure = login.status();
      decision.result = LoginResult::kStorageError;
    }
    return decision;
  }
  Session session{user, std::string(request.client_id), login->is_admin, login->history_floor};
  session.is_service = push_.IsServiceAccount(user);
  session.may_persist = !request.clean_start || request.protocol_version == 5;
  SessionRegistry::Admission admission = sessions_.Admit(request.handle, std::move(session), can_end_sessions_);
  if (!admission.status.ok()) {
    decision.result = admission.over_cap ? LoginResult::kSessionLimit : LoginResult::kRefusedClient;
    return decision;
  }
  // Mosquitto 2.0 has no connect event: a successful login is the connect. If the CONNACK still fails,
  // DISCONNECT follows and undoes it.
  presence_.OnConnected(user, outbox);
  decision.verdict = LoginDecision::Verdict::kAdmit;
  decision.result = LoginResult::kOk;
  decision.sessions_to_end = std::move(admission.to_end);
  return decision;
}

void ConnectionService::Disconnected(SessionRegistry::Handle handle, Outbox& outbox) {
  const Session* session = sessions_.Find(handle);
  if (session == nullptr) return;  // a refused login, or an account already dropped
  if (session->is_reaper) {
    sessions_.Remove(handle);
    return;
  }
  std::string user = session->user_id;
  bool clean = session->said_bye;  // a device that said "bye" first logged out cleanly
  sessions_.Remove(handle);
  chat_.metrics().connections.Set(static_cast<std::int64_t>(sessions_.ConnectionCount()));
  presence_.OnDisconnected(user, clean, outbox);
}

bool ConnectionService::MayAccess(SessionRegistry::Handle handle, std::string_view username, TopicAccess access,
                                  std::string_view topic, bool retain) {
  const Session* session = sessions_.Find(handle);
  if (session == nullptr) {
    // The broker asks whether to queue a message for an offline session: one a connection of ours left.
    const std::string* owner = sessions_.FindOffline(handle);
    return owner != nullptr && *owner == username && MayQueueForOfflineSession(*owner, access, topic);
  }
  Identity who{session->user_id, session->is_admin, session->is_service};
  std::optional<RequestOp> request;
  if (access == TopicAccess::kWrite) {
    request = ParseRequestTopic(topic);
    checked_write_ = CheckedWrite{handle, topic.data(), topic.size(), *request};
  }
  return MayConnectionAccess(who, session->is_reaper, access, topic, retain, request, [&](std::string_view subject) {
    return presence_.MayWatch(session->user_id, std::string(subject));
  });
}

RequestOp ConnectionService::RequestOf(SessionRegistry::Handle handle, std::string_view topic) {
  CheckedWrite checked = checked_write_;
  checked_write_ = CheckedWrite{};
  if (checked.handle == handle && checked.topic == topic.data() && checked.topic_size == topic.size()) {
    return checked.op;
  }
  return ParseRequestTopic(topic);
}

Status ConnectionService::Request(SessionRegistry::Handle handle, RequestOp op, std::string_view payload,
                                  Outbox& outbox) {
  const Session* session = sessions_.Find(handle);
  if (session == nullptr || session->is_reaper) return Status::Error(ErrorCode::kNotAllowed, "not logged in");
  if (op == RequestOp::kBye) sessions_.MarkLoggingOut(handle);
  Caller caller{session->user_id, session->client_id, session->is_admin, session->history_floor, session->is_service};
  return chat_.Handle(caller, op, payload, outbox);
}

const Session* ConnectionService::Admin(SessionRegistry::Handle handle) const {
  const Session* session = sessions_.Find(handle);
  return session != nullptr && session->is_admin && !session->is_reaper ? session : nullptr;
}

AccountChange ConnectionService::CredentialsChanged(const std::string& user_id, bool deleted, Outbox& outbox) {
  authenticator_.Forget(user_id);
  std::size_t connections = sessions_.RemoveUser(user_id);
  chat_.metrics().connections.Set(static_cast<std::int64_t>(sessions_.ConnectionCount()));
  AccountChange change;
  if (deleted) {
    // A deleted account shows no presence at all, not even offline: a re-created name starts afresh.
    presence_.Forget(user_id, outbox);
    change.sessions_to_end = sessions_.TakeOfflineSessions(user_id);
    return change;
  }
  // The DISCONNECTs that follow the kick find no session: account for the devices here.
  for (std::size_t i = 0; i < connections; ++i) presence_.OnDisconnected(user_id, true, outbox);
  return change;
}

}  // namespace chat::core
