// Job parsing and the provider and result payloads. Unknown job fields are ignored, so the server may add
// fields without a bridge upgrade; missing or mistyped required ones make the job fail, not crash.
#include "bridge/push_job.h"

#include <nlohmann/json.hpp>

#include <set>

namespace chat::bridge {
namespace {

using nlohmann::json;

// Reads an optional string field; false when present with another type.
bool OptionalString(const json& object, const char* name, std::string* out) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

}  // namespace

std::string ParsePushJob(std::string_view payload, PushJob* out) {
  *out = PushJob();
  json doc = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return "not a JSON object";
  auto id = doc.find("job");
  if (id == doc.end() || !id->is_string() || id->get<std::string>().empty()) return "no job id";
  // Ids are decimal strings of 64-bit numbers; the bound only keeps the journal's lines sane.
  if (id->get<std::string>().size() > 128) return "job id longer than 128 characters";
  out->id = id->get<std::string>();

  if (!OptionalString(doc, "user", &out->user)) return "user: not a string";
  if (!OptionalString(doc, "from", &out->from)) return "from: not a string";
  if (!OptionalString(doc, "peer", &out->peer)) return "peer: not a string";
  if (!OptionalString(doc, "group", &out->group)) return "group: not a string";
  if (!OptionalString(doc, "title", &out->title)) return "title: not a string";
  if (!OptionalString(doc, "body", &out->body)) return "body: not a string";
  if (auto count = doc.find("count"); count != doc.end()) {
    if (!count->is_number_integer() || count->get<std::int64_t>() < 0) return "count: not a non-negative integer";
    out->count = count->get<std::int64_t>();
  }

  auto targets = doc.find("targets");
  if (targets == doc.end() || !targets->is_array()) return "targets: missing or not an array";
  std::set<std::string> devices;
  for (const json& t : *targets) {
    if (!t.is_object()) return "targets: an entry is not an object";
    PushTarget target;
    if (!OptionalString(t, "device", &target.device) || target.device.empty()) return "targets: an entry has no device";
    if (!OptionalString(t, "provider", &target.provider) || target.provider.empty()) {
      return "targets: device " + target.device + " has no provider";
    }
    if (!OptionalString(t, "token", &target.token) || target.token.empty()) {
      return "targets: device " + target.device + " has no token";
    }
    if (!OptionalString(t, "platform", &target.platform)) {
      return "targets: device " + target.device + ": platform is not a string";
    }
    // The device is the delivery's identity (journal, Idempotency-Key): one delivery per device.
    if (devices.insert(target.device).second) out->targets.push_back(std::move(target));
  }
  return "";
}

std::string ProviderBody(const PushJob& job, const PushTarget& target) {
  json data = json::object();
  if (!job.user.empty()) data["user"] = job.user;
  if (!job.from.empty()) data["from"] = job.from;
  if (!job.peer.empty()) data["peer"] = job.peer;
  if (!job.group.empty()) data["group"] = job.group;
  json body = {{"token", target.token}, {"platform", target.platform}, {"title", job.title},
               {"body", job.body},      {"count", job.count},          {"job", job.id},
               {"data", data}};
  // A preview cut in the middle of a multi-byte character must not make the whole push fail.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string IdempotencyKey(const std::string& job_id, const std::string& device) { return job_id + "-" + device; }

std::string ResultPayload(const std::string& job_id, const JobResult& result) {
  json payload = {
      {"job", job_id}, {"outcome", result.sent ? "sent" : "failed"}, {"invalid_devices", result.invalid_devices}};
  return payload.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace chat::bridge
