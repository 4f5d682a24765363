#include "core/json_writer.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "core/utf8.h"

namespace chat::core {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Bytes copied as they are: printable ASCII but '"' and '\\'.
bool IsPlain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

// Whether all eight bytes of `chunk` are plain, tested together (text is mostly plain ASCII).
bool ArePlain(std::uint64_t chunk) {
  auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighBits; };
  std::uint64_t control = (chunk - kOnes * 0x20) & ~chunk & kHighBits;  // a byte below 0x20
  return (chunk & kHighBits) == 0 && control == 0 && has_zero(chunk ^ (kOnes * '"')) == 0 &&
         has_zero(chunk ^ (kOnes * '\\')) == 0;
}

void AppendEscapedByte(unsigned char c, std::string* out) {
  switch (c) {
    case '"': out->append("\\\""); return;
    case '\\': out->append("\\\\"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    default: break;
  }
  const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
  out->append(escape, sizeof(escape));
}

template <typename Number>
void AppendNumber(Number value, std::string* out) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, end);
}

}  // namespace

void AppendJsonEscaped(std::string_view value, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const auto* end = p + value.size();
  while (p < end) {
    const auto* run = p;
    while (end - p >= 8) {
      std::uint64_t chunk;
      std::memcpy(&chunk, p, 8);
      if (!ArePlain(chunk)) break;
      p += 8;
    }
    while (p < end && IsPlain(*p)) ++p;
    out->append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (p == end) break;
    if (*p < 0x80) {
      AppendEscapedByte(*p++, out);
      continue;
    }
    int length = Utf8SequenceLength(p, end);
    if (length == 0) {
      out->append(kReplacement);
      ++p;
      continue;
    }
    out->append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(length));
    p += length;
  }
}

void JsonWriter::Key(std::string_view key) {
  // One append: `,"<key>":` (keys are the protocol's own short names: nothing to escape).
  char piece[40];
  std::size_t length = 0;
  if (out_.size() > 1) piece[length++] = ',';
  piece[length++] = '"';
  if (key.size() > sizeof(piece) - 4) key = key.substr(0, sizeof(piece) - 4);
  std::memcpy(piece + length, key.data(), key.size());
  length += key.size();
  piece[length++] = '"';
  piece[length++] = ':';
  out_.append(piece, length);
}

JsonWriter& JsonWriter::String(std::string_view key, std::string_view value) {
  Key(key);
  out_.push_back('"');
  AppendJsonEscaped(value, &out_);
  out_.push_back('"');
  return *this;
}

JsonWriter& JsonWriter::Int(std::string_view key, std::int64_t value) {
  Key(key);
  AppendNumber(value, &out_);
  return *this;
}

JsonWriter& JsonWriter::Uint(std::string_view key, std::uint64_t value) {
  Key(key);
  AppendNumber(value, &out_);
  return *this;
}

JsonWriter& JsonWriter::Id(std::string_view key, std::uint64_t id) {
  Key(key);
  char digits[24];
  digits[0] = '"';
  auto [end, error] = std::to_chars(digits + 1, digits + sizeof(digits) - 1, id);
  *end++ = '"';
  out_.append(digits, end);
  return *this;
}

JsonWriter& JsonWriter::Bool(std::string_view key, bool value) {
  Key(key);
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view key, std::string_view json) {
  Key(key);
  out_.append(json);
  return *this;
}

JsonWriter& JsonWriter::StringArray(std::string_view key, const std::vector<std::string>& values) {
  Key(key);
  out_.push_back('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out_.push_back(',');
    out_.push_back('"');
    AppendJsonEscaped(values[i], &out_);
    out_.push_back('"');
  }
  out_.push_back(']');
  return *this;
}

JsonWriter& JsonWriter::RawArray(std::string_view key, const std::vector<std::string>& items) {
  Key(key);
  out_.push_back('[');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out_.push_back(',');
    out_.append(items[i]);
  }
  out_.push_back(']');
  return *this;
}

std::string JsonWriter::Take() {
  out_.push_back('}');
  std::string done = std::move(out_);
  out_.assign(1, '{');
  return done;
}

}  // namespace chat::core
