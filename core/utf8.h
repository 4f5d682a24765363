// UTF-8 validation and code point counting for message text.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace chat::core {

// Returns the number of Unicode code points in `text`, or nullopt when `text` is not well-formed UTF-8
// (overlong forms, surrogates, code points above U+10FFFF and truncated sequences are all rejected).
std::optional<std::size_t> CountUtf8CodePoints(std::string_view text);

// The code points of `text` that is known to be well-formed UTF-8 (a JSON parser validated it): a count
// of the bytes that start a character, without checking anything again.
std::size_t CountCodePointsOfValidUtf8(std::string_view text);

// The length (2 to 4) of the well-formed multi-byte sequence starting at `p` (a byte >= 0x80), or 0 when
// it is not one. Reads no further than `end`.
int Utf8SequenceLength(const unsigned char* p, const unsigned char* end);

}  // namespace chat::core
