// Server message ids: 64-bit, unique, time-sortable (Snowflake layout), increasing across restarts.
#pragma once

#include <cstdint>
#include <string>
#include <optional>
#include <string_view>

#include "core/clock.h"

namespace chat::core {

using MessageId = std::uint64_t;

// Layout, high to low: 41 bits of milliseconds since 2024-01-01T00:00:00Z (good until 2093),
// 10 bits node id, 12 bits sequence within the millisecond.
class MessageIdGenerator {
 public:
  static constexpr std::int64_t kEpochMillis = 1704067200000;  // 2024-01-01T00:00:00Z
  static constexpr int kNodeBits = 10;
  static constexpr int kSequenceBits = 12;
  static constexpr std::uint32_t kMaxNodeId = (1u << kNodeBits) - 1;

  // `clock` is borrowed. `floor` is the largest id ever issued (kept in the store), so ids keep
  // increasing after a restart even if the wall clock went back in the meantime.
  MessageIdGenerator(const Clock& clock, std::uint32_t node_id, MessageId floor);

  // Returns an id larger than every id this generator (or any before `floor`) returned. If the clock
  // stands still or goes back, the id advances logically instead of waiting. Not thread-safe.
  MessageId Next();

  // The milliseconds-since-Unix-epoch encoded in `id`.
  static std::int64_t TimestampMillis(MessageId id);
  // The smallest id with a timestamp at or after `unix_millis` (0 for times before the epoch).
  static MessageId FirstIdAt(std::int64_t unix_millis);

 private:
  const Clock& clock_;
  std::uint64_t node_bits_;
  MessageId last_;
};

// Ids travel in JSON as decimal strings: they exceed 2^53, the largest integer a JavaScript number
// holds exactly.
std::string FormatMessageId(MessageId id);
// Parses a decimal id string; nullopt for anything else (signs, spaces, overflow, empty).
std::optional<MessageId> ParseMessageId(std::string_view text);

}  // namespace chat::core
