#include "core/topic_format.h"

#include <iterator>
#include <unordered_map>

namespace chat::core {

namespace {

constexpr const char* kRequestOpNames[] = {
    "unknown",
#define CHAT_REQUEST_OP_NAME(op, name) name,
    CHAT_REQUEST_OPS(CHAT_REQUEST_OP_NAME)
#undef CHAT_REQUEST_OP_NAME
};
static_assert(std::size(kRequestOpNames) == kRequestOpCount + 1);

const std::unordered_map<std::string_view, RequestOp>& OpsByName() {
  static const auto* ops = [] {
    auto* map = new std::unordered_map<std::string_view, RequestOp>();
    for (std::size_t i = 1; i <= kRequestOpCount; ++i) map->emplace(kRequestOpNames[i], static_cast<RequestOp>(i));
    return map;
  }();
  return *ops;
}

}  // namespace

RequestOp ParseRequestTopic(std::string_view topic) {
  if (topic.substr(0, kRequestPrefix.size()) != kRequestPrefix) return RequestOp::kUnknown;
  auto found = OpsByName().find(topic.substr(kRequestPrefix.size()));
  return found == OpsByName().end() ? RequestOp::kUnknown : found->second;
}

const char* RequestOpName(RequestOp op) {
  auto index = static_cast<std::size_t>(op);
  return index <= kRequestOpCount ? kRequestOpNames[index] : kRequestOpNames[0];
}

std::string RequestTopic(RequestOp op) { return std::string(kRequestPrefix) + RequestOpName(op); }

std::string UserTopic(std::string_view user_id, std::string_view kind) {
  std::string topic;
  topic.reserve(kUserPrefix.size() + user_id.size() + 1 + kind.size());
  topic.append(kUserPrefix).append(user_id).append("/").append(kind);
  return topic;
}

std::string PresenceTopic(std::string_view user_id) { return std::string(kPresencePrefix).append(user_id); }

}  // namespace chat::core
