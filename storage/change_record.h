// A change record: one whole prepared change (core::WriteSet) as bytes, to be appended to the replicated
// log and applied by every node. The log outbox fields are the writing node's own bookkeeping and are left
// out: a decoded change has them empty.
//
// Format: a version byte (1), then every field of the WriteSet in declaration order, each record in a
// list with its fields in declaration order. Lists and strings are prefixed with their length (a varint);
// unsigned numbers are varints, signed ones (times) zigzag varints, bools and enums a byte.
#pragma once

#include <string>
#include <string_view>

#include "core/records.h"
#include "core/status.h"

namespace chat::storage {

std::string EncodeChange(const core::WriteSet& writes);
// kCorruption for anything EncodeChange could not have written (truncated, trailing bytes, an unknown
// version or enum value, a list longer than its bytes could hold); `out` is untouched then.
core::Status DecodeChange(std::string_view bytes, core::WriteSet* out);

}  // namespace chat::storage
