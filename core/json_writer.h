// JsonWriter: writes a JSON object straight into a string, members in the order they are added. Every
// payload the server sends is built with it: a DOM per payload (a node and an allocation per member)
// cost more of the broker thread than the rest of a send, and a send builds two payloads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::core {

// Appends `value` to `out` as the contents of a JSON string (without the quotes): '"', '\\' and control
// characters escaped, valid UTF-8 kept as it is, each byte of an invalid sequence replaced by U+FFFD
// (stored text is checked on the way in, so that only guards against a damaged store).
void AppendJsonEscaped(std::string_view value, std::string* out);

class JsonWriter {
 public:
  JsonWriter() { out_.push_back('{'); }
  // `reserve`: the bytes the object is expected to take, to spare regrowing the string.
  explicit JsonWriter(std::size_t reserve) {
    out_.reserve(reserve);
    out_.push_back('{');
  }

  JsonWriter& String(std::string_view key, std::string_view value);
  JsonWriter& Int(std::string_view key, std::int64_t value);
  JsonWriter& Uint(std::string_view key, std::uint64_t value);
  // A message id: a number too large for JavaScript's doubles, so written as a decimal string.
  JsonWriter& Id(std::string_view key, std::uint64_t id);
  JsonWriter& Bool(std::string_view key, bool value);
  // `json` is a complete JSON value rendered elsewhere (an object built by another writer).
  JsonWriter& Raw(std::string_view key, std::string_view json);
  JsonWriter& StringArray(std::string_view key, const std::vector<std::string>& values);
  // Each item is a complete JSON value.
  JsonWriter& RawArray(std::string_view key, const std::vector<std::string>& items);

  // The object, closed. The writer is empty afterwards.
  std::string Take();

 private:
  void Key(std::string_view key);
  std::string out_;
};

}  // namespace chat::core
