#include "core/json_scan.h"

#include <string>

namespace chat::core {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

Status ScanJson(std::string_view text, const JsonBounds& bounds, std::span<const std::string_view> names,
                std::span<std::string_view> found) {
  std::size_t depth = 0;
  std::size_t values = 0;
  // Inside the top-level object: whether the next string is a key, and the key just read.
  bool expect_key = false;
  std::string_view key;
  bool have_key = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (IsSpace(c) || c == ':') continue;
    if (c == ',') {
      if (depth == 1) expect_key = true;
      continue;
    }
    if (c == '{' || c == '[') {
      if (++depth > bounds.max_depth) {
        return Status::Error(ErrorCode::kBadRequest,
                             "payload nests deeper than " + std::to_string(bounds.max_depth) + " levels");
      }
      if (++values > bounds.max_values) break;
      expect_key = depth == 1 && c == '{';
      have_key = false;
      continue;
    }
    if (c == '}' || c == ']') {
      if (depth > 0) --depth;
      continue;
    }
    if (c == '"') {
      std::size_t start = i + 1;
      bool escaped = false;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          escaped = true;
          ++i;  // skip the escaped character, which may be a quote
        }
      }
      std::string_view contents = text.substr(start, std::min(i, text.size()) - start);
      if (depth == 1 && expect_key) {
        key = escaped ? std::string_view() : contents;
        have_key = true;
        expect_key = false;
        continue;
      }
      if (++values > bounds.max_values) break;
      if (depth == 1 && have_key && !escaped) {
        for (std::size_t n = 0; n < names.size() && n < found.size(); ++n) {
          if (key == names[n] && found[n].empty()) found[n] = contents;
        }
      }
      have_key = false;
      continue;
    }
    // A number, true, false or null: one value, whatever its length.
    if (++values > bounds.max_values) break;
    while (i + 1 < text.size() && !IsSpace(text[i + 1]) && text[i + 1] != ',' && text[i + 1] != ']' &&
           text[i + 1] != '}' && text[i + 1] != ':') {
      ++i;
    }
    have_key = false;
  }
  if (values > bounds.max_values) {
    return Status::Error(ErrorCode::kBadRequest,
                         "payload has more than " + std::to_string(bounds.max_values) + " values");
  }
  return Status::Ok();
}

}  // namespace chat::core
