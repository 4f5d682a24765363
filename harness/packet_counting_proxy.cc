#include "harness/packet_counting_proxy.h"

#include "harness/child_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace chat::harness {
namespace {

// Finds packet boundaries in one direction's byte stream without keeping the bytes: the fixed header's
// type nibble, the remaining length (1 to 4 bytes of 7-bit groups), then that many bytes to skip.
class PacketSplitter {
 public:
  explicit PacketSplitter(std::array<std::atomic<long>, 16>* counts) : counts_(counts) {}

  void Feed(const unsigned char* bytes, std::size_t size) {
    for (std::size_t i = 0; i < size;) {
      switch (state_) {
        case State::kFixedHeader:
          type_ = bytes[i++] >> 4;
          length_ = 0;
          shift_ = 0;
          state_ = State::kLength;
          break;
        case State::kLength: {
          unsigned char byte = bytes[i++];
          length_ |= static_cast<std::size_t>(byte & 0x7F) << shift_;
          shift_ += 7;
          if (byte & 0x80) break;
          (*counts_)[type_].fetch_add(1, std::memory_order_relaxed);
          state_ = length_ == 0 ? State::kFixedHeader : State::kBody;
          break;
        }
        case State::kBody: {
          std::size_t skipped = std::min(length_, size - i);
          i += skipped;
          length_ -= skipped;
          if (length_ == 0) state_ = State::kFixedHeader;
          break;
        }
      }
    }
  }

 private:
  enum class State { kFixedHeader, kLength, kBody };
  std::array<std::atomic<long>, 16>* counts_;
  State state_ = State::kFixedHeader;
  unsigned type_ = 0;
  std::size_t length_ = 0;
  int shift_ = 0;
};

// Relayed packets must not wait for Nagle: the proxy would otherwise add latency the broker has not.
void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

long PacketCounts::total_without_pings() const {
  long total = 0;
  for (int type = 1; type < 16; ++type) {
    if (type == static_cast<int>(PacketType::kPingreq) || type == static_cast<int>(PacketType::kPingresp)) continue;
    total += to_broker[type] + from_broker[type];
  }
  return total;
}

PacketCounts& PacketCounts::operator+=(const PacketCounts& other) {
  for (int type = 0; type < 16; ++type) {
    to_broker[type] += other.to_broker[type];
    from_broker[type] += other.from_broker[type];
  }
  return *this;
}

// One client connection and its connection to the broker, relayed both ways by one thread.
struct PacketCountingProxy::Relay {
  int client_fd;
  int broker_fd;
  std::array<std::atomic<long>, 16> to_broker{};
  std::array<std::atomic<long>, 16> from_broker{};
  std::thread thread;

  Relay(int client, int broker) : client_fd(client), broker_fd(broker) {}

  void Run(const std::atomic<bool>& stopping) {
    PacketSplitter upstream(&to_broker);
    PacketSplitter downstream(&from_broker);
    unsigned char buffer[64 * 1024];
    pollfd fds[2] = {{client_fd, POLLIN, 0}, {broker_fd, POLLIN, 0}};
    while (!stopping.load()) {
      if (poll(fds, 2, 100) < 0) break;
      bool open = true;
      for (int side = 0; side < 2 && open; ++side) {
        if (!(fds[side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t got = read(fds[side].fd, buffer, sizeof(buffer));
        if (got <= 0) {
          open = false;
          break;
        }
        (side == 0 ? upstream : downstream).Feed(buffer, static_cast<std::size_t>(got));
        int to = side == 0 ? broker_fd : client_fd;
        for (ssize_t sent = 0; sent < got;) {
          ssize_t wrote = write(to, buffer + sent, static_cast<std::size_t>(got - sent));
          if (wrote <= 0) {
            open = false;
            break;
          }
          sent += wrote;
        }
      }
      if (!open) break;
    }
    // Either side gone: so is the other, as with a direct connection.
    shutdown(client_fd, SHUT_RDWR);
    shutdown(broker_fd, SHUT_RDWR);
  }

  PacketCounts Snapshot() const {
    PacketCounts counts;
    for (int type = 0; type < 16; ++type) {
      counts.to_broker[type] = to_broker[type].load(std::memory_order_relaxed);
      counts.from_broker[type] = from_broker[type].load(std::memory_order_relaxed);
    }
    return counts;
  }

  void Reset() {
    for (int type = 0; type < 16; ++type) {
      to_broker[type].store(0, std::memory_order_relaxed);
      from_broker[type].store(0, std::memory_order_relaxed);
    }
  }
};

PacketCountingProxy::PacketCountingProxy(int broker_port) : broker_port_(broker_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("packet counting proxy: cannot listen on loopback");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

PacketCountingProxy::~PacketCountingProxy() {
  stopping_ = true;
  acceptor_.join();
  close(listen_fd_);
  for (auto& relay : relays_) {
    relay->thread.join();
    close(relay->client_fd);
    close(relay->broker_fd);
  }
}

void PacketCountingProxy::AcceptLoop() {
  pollfd listening{listen_fd_, POLLIN, 0};
  while (!stopping_.load()) {
    if (poll(&listening, 1, 100) <= 0) continue;
    int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    int broker = ConnectToLoopback(broker_port_);
    if (broker < 0) {
      close(client);
      continue;
    }
    NoDelay(client);
    NoDelay(broker);
    auto relay = std::make_unique<Relay>(client, broker);
    Relay* raw = relay.get();
    std::lock_guard<std::mutex> lock(mutex_);
    relays_.push_back(std::move(relay));
    raw->thread = std::thread([this, raw] { raw->Run(stopping_); });
  }
}

std::size_t PacketCountingProxy::connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return relays_.size();
}

PacketCounts PacketCountingProxy::Counts(std::size_t index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return index < relays_.size() ? relays_[index]->Snapshot() : PacketCounts{};
}

PacketCounts PacketCountingProxy::Total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PacketCounts total;
  for (const auto& relay : relays_) total += relay->Snapshot();
  return total;
}

void PacketCountingProxy::Reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& relay : relays_) relay->Reset();
}

}  // namespace chat::harness
