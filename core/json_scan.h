// ScanJson: one linear pass over an untrusted JSON text before the real parser sees it. The DOM parser
// builds a node per value and a level per bracket, so 900 KB of '[' or 250,000 tiny numbers cost the
// broker thread half a second; this pass costs about a microsecond per kilobyte, allocates nothing, and
// refuses such payloads first. It also picks out named top-level string members (a request's "rid" and
// "cmid") so a refused payload, or one that fails to parse, still gets a tagged error reply.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "core/status.h"

namespace chat::core {

struct JsonBounds {
  std::size_t max_depth = 8;      // nesting of objects and arrays; a top-level object is depth 1
  std::size_t max_values = 1000;  // scalars, objects and arrays, members' keys not counted
};

// Ok when `text` stays within `bounds` (it may still be invalid JSON: the parser decides that);
// kBadRequest naming the bound otherwise. For each of `names`, `found` gets the raw contents of the
// first top-level member of that name whose value is a string without escapes (left untouched when
// there is none); the views point into `text`. A text the scan cannot follow is left to the parser.
Status ScanJson(std::string_view text, const JsonBounds& bounds, std::span<const std::string_view> names,
                std::span<std::string_view> found);

}  // namespace chat::core
