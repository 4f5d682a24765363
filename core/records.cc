#include "core/records.h"

namespace chat::core {

std::string DirectConversationKey(const std::string& a, const std::string& b) {
  return a < b ? a + ":" + b : b + ":" + a;
}

}  // namespace chat::core
