#include "tests/harness/test_client.h"

#include "clients/common/connect_retry.h"

namespace chat::harness {

ChatTestClient::ChatTestClient(const std::string& uri, std::string user, std::string device, int mqtt_version)
    : user_(std::move(user)), mqtt_version_(mqtt_version) {
  std::string client_id = device.empty() ? "" : user_ + ":" + device;
  client_ = std::make_unique<mqtt::async_client>(uri, client_id, mqtt::create_options(mqtt_version));
  client_->start_consuming();
}

ChatTestClient::~ChatTestClient() { Disconnect(); }

std::string ChatTestClient::Connect(const std::string& password, bool clean, std::optional<int> session_expiry) {
  auto builder = mqtt::connect_options_builder()
                     .mqtt_version(mqtt_version_)
                     .user_name(user_)
                     .password(password)
                     .connect_timeout(std::chrono::seconds(10))
                     .keep_alive_interval(std::chrono::seconds(keepalive_seconds_));
  if (mqtt_version_ == 5) {
    builder.clean_start(clean);
    if (!session_expiry && !clean) session_expiry = 3600;
    if (session_expiry) builder.properties({{mqtt::property::SESSION_EXPIRY_INTERVAL, *session_expiry}});
  } else {
    builder.clean_session(clean);
  }
  if (tls_) {
    auto ssl = mqtt::ssl_options_builder().trust_store(tls_->ca_file).enable_server_cert_auth(true).verify(true);
    if (!tls_->cert_file.empty()) ssl.key_store(tls_->cert_file).private_key(tls_->key_file);
    builder.ssl(ssl.finalize());
  }
  try {
    clients::ConnectWithRetry(*client_, builder.finalize());
    return "";
  } catch (const mqtt::exception& e) {
    return e.what();
  }
}

std::string ChatTestClient::ConnectAs(const std::string& client_id, const std::string& password) {
  client_ = std::make_unique<mqtt::async_client>(client_->get_server_uri(), client_id,
                                                 mqtt::create_options(mqtt_version_));
  client_->start_consuming();
  return Connect(password);
}

bool ChatTestClient::Subscribe(const std::string& filter, int qos) {
  try {
    auto token = client_->subscribe(filter, qos);
    token->wait();
    if (mqtt_version_ == 5) {
      auto codes = token->get_subscribe_response().get_reason_codes();
      return !codes.empty() && codes[0] < 0x80;
    }
    auto codes = token->get_subscribe_response().get_reason_codes();
    return codes.empty() || codes[0] < 0x80;
  } catch (const mqtt::exception&) {
    return false;
  }
}

bool ChatTestClient::SubscribeOwn() { return Subscribe("chat/v1/user/" + user_ + "/#"); }

int ChatTestClient::Publish(const std::string& topic, const std::string& payload, int qos) {
  try {
    auto token = client_->publish(mqtt::make_message(topic, payload, qos, false));
    token->wait();
    return static_cast<int>(token->get_reason_code());
  } catch (const mqtt::exception& e) {
    return e.get_reason_code() != 0 ? e.get_reason_code() : -1;
  }
}

bool ChatTestClient::PublishNoWait(const std::string& topic, const std::string& payload) {
  try {
    client_->publish(mqtt::make_message(topic, payload, 0, false));
    return true;
  } catch (const mqtt::exception&) {
    return false;
  }
}

int ChatTestClient::Send(const std::string& to, const std::string& text, const std::string& cmid) {
  nlohmann::json request = {{"to", to}, {"text", text}};
  if (!cmid.empty()) request["cmid"] = cmid;
  return Publish("chat/v1/req/send", request.dump());
}

bool ChatTestClient::Pull(std::chrono::milliseconds timeout) {
  mqtt::const_message_ptr message;
  if (!client_->try_consume_message_for(&message, timeout) || !message) return false;
  Received received{message->get_topic(), message->to_string(), {}};
  received.json = nlohmann::json::parse(received.payload, nullptr, false);
  queued_.push_back(std::move(received));
  return true;
}

std::optional<Received> ChatTestClient::WaitFor(const std::function<bool(const Received&)>& match,
                                                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t checked = 0;
  while (true) {
    for (; checked < queued_.size(); ++checked) {
      if (match(queued_[checked])) {
        Received found = std::move(queued_[checked]);
        queued_.erase(queued_.begin() + static_cast<std::ptrdiff_t>(checked));
        return found;
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    Pull(std::min<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                                             std::chrono::milliseconds(100)));
  }
}

std::optional<nlohmann::json> ChatTestClient::WaitForType(const std::string& type, std::chrono::milliseconds timeout) {
  auto found = WaitFor(
      [&](const Received& r) { return r.json.is_object() && r.json.value("type", "") == type; }, timeout);
  if (!found) return std::nullopt;
  return found->json;
}

std::vector<Received> ChatTestClient::Collect(std::chrono::milliseconds window) {
  auto deadline = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < deadline) Pull(std::chrono::milliseconds(50));
  std::vector<Received> all(std::make_move_iterator(queued_.begin()), std::make_move_iterator(queued_.end()));
  queued_.clear();
  return all;
}

void ChatTestClient::StartHeartbeats(std::chrono::milliseconds interval) {
  StopHeartbeats();
  stop_heartbeats_ = false;
  heartbeats_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(heartbeat_mutex_);
    while (!heartbeat_stop_.wait_for(lock, interval, [this] { return stop_heartbeats_; })) {
      PublishNoWait("chat/v1/req/heartbeat", "{}");
    }
  });
}

void ChatTestClient::StopHeartbeats() {
  {
    std::lock_guard<std::mutex> lock(heartbeat_mutex_);
    stop_heartbeats_ = true;
  }
  heartbeat_stop_.notify_all();
  if (heartbeats_.joinable()) heartbeats_.join();
}

void ChatTestClient::Disconnect() {
  StopHeartbeats();
  try {
    if (client_ && client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const mqtt::exception&) {
  }
}

}  // namespace chat::harness
