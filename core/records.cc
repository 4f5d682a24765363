#include "core/records.h"

namespace chat::core {

Conversation Conversation::Direct(const std::string& a, const std::string& b) {
  return {Kind::kDirect, a < b ? a + ":" + b : b + ":" + a};
}

}  // namespace chat::core
