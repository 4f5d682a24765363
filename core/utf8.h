// UTF-8 validation and code point counting for message text.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace chat::core {

// Returns the number of Unicode code points in `text`, or nullopt when `text` is not well-formed UTF-8
// (overlong forms, surrogates, code points above U+10FFFF and truncated sequences are all rejected).
std::optional<std::size_t> CountUtf8CodePoints(std::string_view text);

}  // namespace chat::core
