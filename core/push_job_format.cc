#include "core/push_job_format.h"

#include <nlohmann/json.hpp>

#include <set>

#include "core/message_id.h"

namespace chat::core {
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

Status BadJob(std::string message) { return Status::Error(ErrorCode::kBadRequest, std::move(message)); }

// As text; a preview cut in the middle of a multi-byte character must not make the whole payload fail.
std::string Text(const json& payload) { return payload.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string PushJobJson(const PushJob& job, std::string_view title, const std::vector<PushToken>& targets,
                        const std::optional<UnreadCount>& unread) {
  PushJobOffer offer;
  offer.id = FormatMessageId(job.job_id);
  offer.user = job.user_id;
  offer.from = job.from;
  // As the recipient sees the conversation: a 1:1 one is named by its other user, the sender.
  if (job.conversation.is_group()) {
    offer.group = job.conversation.key;
  } else {
    offer.peer = job.from;
  }
  offer.count = job.count;
  if (unread) {
    offer.unread = static_cast<std::int64_t>(unread->count);
    offer.unread_capped = !unread->complete;
  }
  offer.title = std::string(title);
  offer.body = job.preview;
  for (const PushToken& t : targets) offer.targets.push_back({t.device_id, t.provider, t.token, t.platform});
  return PushJobJson(offer);
}

std::string PushJobJson(const PushJobOffer& job) {
  json list = json::array();
  for (const PushJobTarget& t : job.targets) {
    list.push_back({{"device", t.device}, {"provider", t.provider}, {"token", t.token}, {"platform", t.platform}});
  }
  json object = {{"job", job.id},     {"user", job.user}, {"from", job.from},          {"count", job.count},
                 {"title", job.title}, {"body", job.body}, {"targets", std::move(list)}};
  if (job.unread) object["unread"] = *job.unread;
  if (job.unread_capped) object["unread_capped"] = true;
  if (job.group.empty()) {
    object["peer"] = job.peer;
  } else {
    object["group"] = job.group;
  }
  return Text(object);
}

Status ParsePushJob(std::string_view payload, PushJobOffer* out) {
  *out = PushJobOffer();
  json doc = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return BadJob("not a JSON object");
  auto id = doc.find("job");
  if (id == doc.end() || !id->is_string() || id->get<std::string>().empty()) return BadJob("no job id");
  // Ids are decimal strings of 64-bit numbers; the bound only keeps the bridge's journal lines sane.
  if (id->get<std::string>().size() > 128) return BadJob("job id longer than 128 characters");
  out->id = id->get<std::string>();

  if (!OptionalString(doc, "user", &out->user)) return BadJob("user: not a string");
  if (!OptionalString(doc, "from", &out->from)) return BadJob("from: not a string");
  if (!OptionalString(doc, "peer", &out->peer)) return BadJob("peer: not a string");
  if (!OptionalString(doc, "group", &out->group)) return BadJob("group: not a string");
  if (!OptionalString(doc, "title", &out->title)) return BadJob("title: not a string");
  if (!OptionalString(doc, "body", &out->body)) return BadJob("body: not a string");
  if (auto count = doc.find("count"); count != doc.end()) {
    if (!count->is_number_integer() || count->get<std::int64_t>() < 0) {
      return BadJob("count: not a non-negative integer");
    }
    out->count = count->get<std::int64_t>();
  }
  if (auto unread = doc.find("unread"); unread != doc.end()) {
    if (!unread->is_number_integer() || unread->get<std::int64_t>() < 0) {
      return BadJob("unread: not a non-negative integer");
    }
    out->unread = unread->get<std::int64_t>();
  }
  if (auto capped = doc.find("unread_capped"); capped != doc.end()) {
    if (!capped->is_boolean()) return BadJob("unread_capped: not true or false");
    out->unread_capped = capped->get<bool>();
  }

  auto targets = doc.find("targets");
  if (targets == doc.end() || !targets->is_array()) return BadJob("targets: missing or not an array");
  std::set<std::string> devices;
  for (const json& t : *targets) {
    if (!t.is_object()) return BadJob("targets: an entry is not an object");
    PushJobTarget target;
    if (!OptionalString(t, "device", &target.device) || target.device.empty()) {
      return BadJob("targets: an entry has no device");
    }
    if (!OptionalString(t, "provider", &target.provider) || target.provider.empty()) {
      return BadJob("targets: device " + target.device + " has no provider");
    }
    if (!OptionalString(t, "token", &target.token) || target.token.empty()) {
      return BadJob("targets: device " + target.device + " has no token");
    }
    if (!OptionalString(t, "platform", &target.platform)) {
      return BadJob("targets: device " + target.device + ": platform is not a string");
    }
    // The device is the delivery's identity (journal, Idempotency-Key): one delivery per device.
    if (devices.insert(target.device).second) out->targets.push_back(std::move(target));
  }
  return Status::Ok();
}

std::string PushResultJson(std::string_view job_id, const PushJobResult& result) {
  json payload = {
      {"job", job_id}, {"outcome", result.sent ? "sent" : "failed"}, {"invalid_devices", result.invalid_devices}};
  return Text(payload);
}

// More than a job can have targets: the server reads no further.
constexpr std::size_t kMaxInvalidDevices = 1000;

Status ParsePushResult(const RequestFields& request, MessageId* job_id, PushJobResult* out) {
  if (!request.Has("job")) return Status::Error(ErrorCode::kBadRequest, "job is required");
  if (Status s = request.OptionalId("job", job_id); !s.ok()) return s;
  std::string outcome;
  if (Status s = request.RequiredString("outcome", &outcome); !s.ok()) return s;
  if (outcome != "sent" && outcome != "failed") {
    return Status::Error(ErrorCode::kBadRequest, "outcome must be sent or failed");
  }
  out->sent = outcome == "sent";
  return request.OptionalStringList("invalid_devices", kMaxInvalidDevices, &out->invalid_devices);
}

}  // namespace chat::core
