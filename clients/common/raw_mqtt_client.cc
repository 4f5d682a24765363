#include "clients/common/raw_mqtt_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace chat::clients {
namespace {

void AppendRemainingLength(std::size_t length, std::string* out) {
  do {
    auto byte = static_cast<std::uint8_t>(length % 128);
    length /= 128;
    if (length > 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (length > 0);
}

void AppendString(const std::string& value, std::string* out) {
  out->push_back(static_cast<char>(value.size() >> 8));
  out->push_back(static_cast<char>(value.size() & 0xFF));
  out->append(value);
}

std::string Packet(std::uint8_t header, const std::string& body) {
  std::string packet(1, static_cast<char>(header));
  AppendRemainingLength(body.size(), &packet);
  packet.append(body);
  return packet;
}

}  // namespace

const char* ConnectOutcomeName(ConnectOutcome::Kind kind) {
  switch (kind) {
    case ConnectOutcome::Kind::kAccepted: return "accepted";
    case ConnectOutcome::Kind::kRefused: return "refused";
    case ConnectOutcome::Kind::kClosed: return "closed without CONNACK";
    case ConnectOutcome::Kind::kTimeout: return "timeout";
    case ConnectOutcome::Kind::kNetworkError: return "network error";
  }
  return "?";
}

ConnectOutcome RawMqttClient::Connect(const std::string& host, int port, const std::string& client_id, const std::string& user,
                                      const std::string& password, bool clean, int keepalive_seconds,
                                      const std::string& source_address, std::chrono::milliseconds timeout) {
  Close();
  auto start = std::chrono::steady_clock::now();
  ConnectOutcome outcome;
  auto finish = [&](ConnectOutcome::Kind kind) {
    outcome.kind = kind;
    outcome.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (kind != ConnectOutcome::Kind::kAccepted) Close();
    return outcome;
  };
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return finish(ConnectOutcome::Kind::kNetworkError);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (!source_address.empty()) {
    sockaddr_in source{};
    source.sin_family = AF_INET;
    if (inet_pton(AF_INET, source_address.c_str(), &source.sin_addr) != 1 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0) {
      return finish(ConnectOutcome::Kind::kNetworkError);
    }
  }
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &target.sin_addr) != 1) return finish(ConnectOutcome::Kind::kNetworkError);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
    return finish(ConnectOutcome::Kind::kNetworkError);
  }
  std::string body;
  AppendString("MQTT", &body);
  body.push_back(4);  // protocol level: 3.1.1
  std::uint8_t flags = 0;
  if (!user.empty()) flags |= 0x80;
  if (!password.empty()) flags |= 0x40;
  if (clean) flags |= 0x02;
  body.push_back(static_cast<char>(flags));
  body.push_back(static_cast<char>(keepalive_seconds >> 8));
  body.push_back(static_cast<char>(keepalive_seconds & 0xFF));
  AppendString(client_id, &body);
  if (!user.empty()) AppendString(user, &body);
  if (!password.empty()) AppendString(password, &body);
  if (!WriteAll(Packet(0x10, body))) return finish(ConnectOutcome::Kind::kClosed);
  std::uint8_t type = 0;
  std::string reply;
  auto deadline = start + timeout;
  if (!ReadExactly(1, deadline, &reply)) {
    return finish(std::chrono::steady_clock::now() >= deadline ? ConnectOutcome::Kind::kTimeout
                                                               : ConnectOutcome::Kind::kClosed);
  }
  type = static_cast<std::uint8_t>(reply[0]);
  reply.clear();
  if (type != 0x20 || !ReadExactly(3, deadline, &reply) || reply[0] != 2) {
    return finish(ConnectOutcome::Kind::kClosed);
  }
  outcome.session_present = (reply[1] & 0x01) != 0;
  outcome.code = static_cast<std::uint8_t>(reply[2]);
  return finish(outcome.code == 0 ? ConnectOutcome::Kind::kAccepted : ConnectOutcome::Kind::kRefused);
}

std::optional<std::chrono::microseconds> RawMqttClient::Ping(std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  if (!WriteAll(std::string("\xC0\x00", 2))) return std::nullopt;
  auto deadline = start + timeout;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    std::uint8_t type = 0;
    std::string body;
    if (!ReadPacket(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now), &type, &body)) {
      return std::nullopt;
    }
    if ((type & 0xF0) == 0xD0) {
      return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    }
  }
}

int RawMqttClient::Subscribe(const std::string& filter, std::chrono::milliseconds timeout) {
  std::uint16_t id = next_packet_id_++;
  std::string body;
  body.push_back(static_cast<char>(id >> 8));
  body.push_back(static_cast<char>(id & 0xFF));
  AppendString(filter, &body);
  body.push_back(1);
  if (!WriteAll(Packet(0x82, body))) return -1;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::uint8_t type = 0;
    std::string reply;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!ReadPacket(left, &type, &reply)) return -1;
    if ((type & 0xF0) == 0x90 && reply.size() >= 3) return static_cast<std::uint8_t>(reply[2]);
  }
  return -1;
}

bool RawMqttClient::PublishQos0(const std::string& topic, const std::string& payload) {
  std::string body;
  AppendString(topic, &body);
  body.append(payload);
  return WriteAll(Packet(0x30, body));
}

void RawMqttClient::Disconnect() {
  if (fd_ >= 0) WriteAll(std::string("\xE0\x00", 2));
  Close();
}

void RawMqttClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool RawMqttClient::WriteAll(const std::string& bytes) {
  std::size_t done = 0;
  while (fd_ >= 0 && done < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return fd_ >= 0;
}

bool RawMqttClient::ReadExactly(std::size_t count, std::chrono::steady_clock::time_point deadline, std::string* out) {
  char buffer[4096];
  while (out->size() < count) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline || fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
    int ready = poll(&p, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = recv(fd_, buffer, std::min(sizeof(buffer), count - out->size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out->append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

bool RawMqttClient::ReadPacket(std::chrono::milliseconds timeout, std::uint8_t* type, std::string* body) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string header;
  if (!ReadExactly(1, deadline, &header)) return false;
  *type = static_cast<std::uint8_t>(header[0]);
  std::size_t length = 0;
  for (int shift = 0; shift < 28; shift += 7) {
    std::string byte;
    if (!ReadExactly(1, deadline, &byte)) return false;
    auto b = static_cast<std::uint8_t>(byte[0]);
    length |= static_cast<std::size_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) break;
  }
  body->clear();
  return length == 0 || ReadExactly(length, deadline, body);
}

}  // namespace chat::clients
