// The field encodings the binary records share (storage/record_codec.h, storage/change_record.h):
// varints, and strings prefixed with their length. Inline: decoding runs on the broker thread for every
// message read, as it did when these lived in record_codec.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chat::storage {

inline void PutVarint(std::uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Zigzag: a small negative number takes a byte or two, where a plain cast to unsigned would take ten.
inline void PutSignedVarint(std::int64_t value, std::string* out) {
  PutVarint((static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63), out);
}

inline void PutString(std::string_view value, std::string* out) {
  PutVarint(value.size(), out);
  out->append(value);
}

// Reads fields in order from a byte string; any overrun marks the reader failed.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool ok() const { return ok_; }
  bool done() const { return rest_.empty(); }
  // What a declared count is checked against before anything is reserved for it.
  std::size_t left() const { return rest_.size(); }

  std::uint64_t Varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64 && ok_; shift += 7) {
      if (rest_.empty()) break;
      auto byte = static_cast<unsigned char>(rest_.front());
      rest_.remove_prefix(1);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if (!(byte & 0x80)) return value;
    }
    ok_ = false;
    return 0;
  }
  std::int64_t SignedVarint() {
    std::uint64_t zigzag = Varint();
    return static_cast<std::int64_t>(zigzag >> 1) ^ -static_cast<std::int64_t>(zigzag & 1);
  }
  std::string String() {
    std::uint64_t size = Varint();
    if (!ok_ || size > rest_.size()) {
      ok_ = false;
      return {};
    }
    std::string value(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return value;
  }
  char Byte() {
    if (rest_.empty()) {
      ok_ = false;
      return 0;
    }
    char c = rest_.front();
    rest_.remove_prefix(1);
    return c;
  }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

}  // namespace chat::storage
