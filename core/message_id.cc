#include "core/message_id.h"

#include <charconv>

namespace chat::core {

MessageIdGenerator::MessageIdGenerator(const Clock& clock, std::uint32_t node_id, MessageId floor)
    : clock_(clock), node_bits_(static_cast<std::uint64_t>(node_id & kMaxNodeId) << kSequenceBits), last_(floor) {}

MessageId MessageIdGenerator::Next() {
  std::int64_t since_epoch = clock_.NowMillis() - kEpochMillis;
  if (since_epoch < 0) since_epoch = 0;
  MessageId candidate = (static_cast<std::uint64_t>(since_epoch) << (kNodeBits + kSequenceBits)) | node_bits_;
  if (candidate <= last_) {
    // Same millisecond (or a clock step back): continue from the last id. Overflowing the 12-bit
    // sequence carries into the timestamp, which simply borrows from the next millisecond.
    candidate = last_ + 1;
    std::uint64_t node_mask = static_cast<std::uint64_t>(kMaxNodeId) << kSequenceBits;
    if ((candidate & node_mask) != node_bits_) {
      // The carry changed the node bits: move to the next millisecond with this node's bits.
      std::uint64_t millis = (candidate >> (kNodeBits + kSequenceBits)) + 1;
      candidate = (millis << (kNodeBits + kSequenceBits)) | node_bits_;
    }
  }
  last_ = candidate;
  return candidate;
}

std::int64_t MessageIdGenerator::TimestampMillis(MessageId id) {
  return static_cast<std::int64_t>(id >> (kNodeBits + kSequenceBits)) + kEpochMillis;
}

MessageId MessageIdGenerator::FirstIdAt(std::int64_t unix_millis) {
  if (unix_millis <= kEpochMillis) return 0;
  return static_cast<MessageId>(unix_millis - kEpochMillis) << (kNodeBits + kSequenceBits);
}

std::string FormatMessageId(MessageId id) { return std::to_string(id); }

std::optional<MessageId> ParseMessageId(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  MessageId value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace chat::core
