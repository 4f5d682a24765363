#include "plugins/session_reaper.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <chrono>

#include "clients/common/raw_mqtt_client.h"

namespace chat::plugin {
namespace {

// Bounds the queue: a flood of new sessions past the cap is refused at login rather than queued here.
constexpr std::size_t kMaxQueued = 10000;
constexpr auto kConnectTimeout = std::chrono::seconds(5);

}  // namespace

std::unique_ptr<SessionReaper> SessionReaper::Create(std::string host, int port) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return nullptr;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char b : bytes) {
    secret.push_back(kHex[b >> 4]);
    secret.push_back(kHex[b & 0xF]);
  }
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return std::unique_ptr<SessionReaper>(new SessionReaper(std::move(host), port, std::move(secret)));
}

SessionReaper::SessionReaper(std::string host, int port, std::string secret)
    : host_(std::move(host)), port_(port), secret_(std::move(secret)), thread_([this] { Run(); }) {}

SessionReaper::~SessionReaper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  thread_.join();
  OPENSSL_cleanse(secret_.data(), secret_.size());
}

bool SessionReaper::IsReaperLogin(std::string_view password) const {
  return password.size() == secret_.size() && CRYPTO_memcmp(password.data(), secret_.data(), secret_.size()) == 0;
}

bool SessionReaper::End(std::string user_id, std::string client_id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= kMaxQueued) return false;
    queue_.emplace_back(std::move(user_id), std::move(client_id));
  }
  wake_.notify_one();
  return true;
}

void SessionReaper::Run() {
  clients::RawMqttClient client;
  while (true) {
    std::pair<std::string, std::string> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    // Clean start under the session's client id: the broker ends the old session for this connection.
    clients::ConnectOutcome outcome =
        client.Connect(host_, port_, job.second, job.first, secret_, /*clean=*/true, /*keepalive_seconds=*/10,
                       /*source_address=*/"", kConnectTimeout);
    if (outcome.kind == clients::ConnectOutcome::Kind::kAccepted) {
      client.Disconnect();
      ++ended_;
    } else {
      client.Close();
      ++failed_;  // refused: the device came back meanwhile (its session is in use again), or no listener
    }
  }
}

}  // namespace chat::plugin
