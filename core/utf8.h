// UTF-8 validation and code point counting for message text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chat::core {

// Returns the number of Unicode code points in `text`, or nullopt when `text` is not well-formed UTF-8
// (overlong forms, surrogates, code points above U+10FFFF and truncated sequences are all rejected).
std::optional<std::size_t> CountUtf8CodePoints(std::string_view text);

// The code points of `text` that is known to be well-formed UTF-8 (a JSON parser validated it): a count
// of the bytes that start a character, without checking anything again.
std::size_t CountCodePointsOfValidUtf8(std::string_view text);

// The first `chars` code points of well-formed UTF-8 `text`, with an ellipsis (U+2026) when something
// was cut: the previews of notifications and of the conversation list.
std::string PreviewOfValidUtf8(const std::string& text, std::size_t chars);

// The length (2 to 4) of the well-formed multi-byte sequence starting at `p` (a byte >= 0x80), or 0 when
// it is not one. Reads no further than `end`.
int Utf8SequenceLength(const unsigned char* p, const unsigned char* end);

}  // namespace chat::core
