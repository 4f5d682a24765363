// The provider body and the bridge's use of the result payload. The job and result formats themselves
// are core/push_job_format.cc's.
#include "bridge/push_job.h"

#include <nlohmann/json.hpp>

namespace chat::bridge {

using nlohmann::json;

std::string ProviderBody(const PushJob& job, const PushTarget& target) {
  json data = json::object();
  if (!job.user.empty()) data["user"] = job.user;
  if (!job.from.empty()) data["from"] = job.from;
  if (!job.peer.empty()) data["peer"] = job.peer;
  if (!job.group.empty()) data["group"] = job.group;
  json body = {{"token", target.token}, {"platform", target.platform}, {"title", job.title},
               {"body", job.body},      {"count", job.count},          {"job", job.id},
               {"data", data}};
  // The app's badge: the recipient's unread messages over all conversations ("99+" when capped is the
  // app's choice; the count is then a lower bound).
  if (job.unread) body["badge"] = *job.unread;
  if (job.unread_capped) body["badge_capped"] = true;
  // A preview cut in the middle of a multi-byte character must not make the whole push fail.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string IdempotencyKey(const std::string& job_id, const std::string& device) { return job_id + "-" + device; }

std::string ResultPayload(const std::string& job_id, const JobResult& result) {
  return core::PushResultJson(job_id, result);
}

bool IsErrorReply(std::string_view payload) {
  json reply = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) return false;
  // Compared as JSON: value("type", "") throws when "type" is not a string, and on Paho's callback
  // thread that ends the process.
  auto type = reply.find("type");
  return type != reply.end() && *type == "error";
}

}  // namespace chat::bridge
