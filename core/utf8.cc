#include "core/utf8.h"

#include <cstdint>

namespace chat::core {

int Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  unsigned char c = *p;
  int extra;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    extra = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    extra = 2;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    extra = 3;
    cp = c & 0x07;
  } else {
    return 0;  // continuation byte in lead position, C0/C1 overlong lead, or > F4
  }
  if (end - p <= extra) return 0;
  for (int i = 1; i <= extra; ++i) {
    unsigned char cc = p[i];
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return extra + 1;
}

std::optional<std::size_t> CountUtf8CodePoints(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  std::size_t count = 0;
  while (p < end) {
    // ASCII runs are the common case; take them eight bytes at a time.
    while (end - p >= 8) {
      std::uint64_t chunk;
      __builtin_memcpy(&chunk, p, 8);
      if (chunk & 0x8080808080808080ULL) break;
      p += 8;
      count += 8;
    }
    if (p == end) break;
    if (*p < 0x80) {
      ++p;
      ++count;
      continue;
    }
    int length = Utf8SequenceLength(p, end);
    if (length == 0) return std::nullopt;
    p += length;
    ++count;
  }
  return count;
}

std::size_t CountCodePointsOfValidUtf8(std::string_view text) {
  // Continuation bytes are 10xxxxxx: bit 7 set and bit 6 clear. Eight bytes at a time.
  constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;
  std::size_t continuation = 0;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t chunk;
    __builtin_memcpy(&chunk, text.data() + i, 8);
    std::uint64_t marks = (chunk & ~(chunk << 1) & kHighBits) >> 7;  // 1 in each continuation byte
    continuation += static_cast<std::size_t>((marks * 0x0101010101010101ULL) >> 56);  // their sum
  }
  for (; i < text.size(); ++i) continuation += (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
  return text.size() - continuation;
}

std::string PreviewOfValidUtf8(const std::string& text, std::size_t chars) {
  std::size_t bytes = 0;
  for (std::size_t n = 0; n < chars && bytes < text.size(); ++n) {
    ++bytes;
    while (bytes < text.size() && (static_cast<unsigned char>(text[bytes]) & 0xC0) == 0x80) ++bytes;
  }
  return bytes < text.size() ? text.substr(0, bytes) + "\xE2\x80\xA6" : text;
}

}  // namespace chat::core
