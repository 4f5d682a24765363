#include "core/push_providers.h"

#include <algorithm>

namespace chat::core {

bool IsKnownPushProvider(std::string_view provider) {
  return std::find(kPushProviders.begin(), kPushProviders.end(), provider) != kPushProviders.end();
}

std::string JoinPushProviders(std::string_view last_separator) {
  std::string text;
  for (std::size_t i = 0; i < kPushProviders.size(); ++i) {
    if (i > 0) text.append(i + 1 == kPushProviders.size() ? last_separator : std::string_view(", "));
    text.append(kPushProviders[i]);
  }
  return text;
}

}  // namespace chat::core
