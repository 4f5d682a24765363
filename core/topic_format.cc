#include "core/topic_format.h"

namespace chat::core {

RequestOp ParseRequestTopic(std::string_view topic) {
  if (topic.substr(0, kRequestPrefix.size()) != kRequestPrefix) return RequestOp::kUnknown;
  std::string_view op = topic.substr(kRequestPrefix.size());
  if (op == "send") return RequestOp::kSend;
  if (op == "history") return RequestOp::kHistory;
  return RequestOp::kUnknown;
}

const char* RequestOpName(RequestOp op) {
  switch (op) {
    case RequestOp::kSend: return "send";
    case RequestOp::kHistory: return "history";
    case RequestOp::kUnknown: break;
  }
  return "unknown";
}

std::string RequestTopic(RequestOp op) { return std::string(kRequestPrefix) + RequestOpName(op); }

std::string UserTopic(std::string_view user_id, std::string_view kind) {
  std::string topic;
  topic.reserve(kUserPrefix.size() + user_id.size() + 1 + kind.size());
  topic.append(kUserPrefix).append(user_id).append("/").append(kind);
  return topic;
}

}  // namespace chat::core
