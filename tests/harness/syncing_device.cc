// SyncingDevice: the Sync section's client rules (cur_max_seq, apply seq == cur + 1, ignore duplicates,
// sync on connect and on a gap, page until more is false), with a record of what was applied.
#include "tests/harness/syncing_device.h"

#include <algorithm>
#include <utility>

namespace chat::harness {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::int64_t SeqOf(const json& event) {
  auto it = event.find("seq");
  return it != event.end() && it->is_number_integer() ? it->get<std::int64_t>() : -1;
}

milliseconds Remaining(Clock::time_point deadline) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

}  // namespace

SyncingDevice::SyncingDevice(const std::string& uri, std::string user, std::string device, std::string password,
                             int page_limit, int mqtt_version)
    : user_(std::move(user)),
      password_(std::move(password)),
      page_limit_(page_limit),
      client_(std::make_unique<ChatTestClient>(uri, user_, std::move(device), mqtt_version)) {}

std::string SyncingDevice::Connect(bool clean) {
  if (std::string error = client_->Connect(password_, clean); !error.empty()) return "connect: " + error;
  if (!client_->SubscribeOwn()) return "subscription refused";
  return Sync();
}

void SyncingDevice::Disconnect() { client_->Disconnect(); }

std::string SyncingDevice::Sync() {
  bool ok = SyncPages();
  DrainDeferred();
  return ok ? "" : sync_error_;
}

bool SyncingDevice::SyncPages() {
  ++syncs_;
  syncing_ = true;
  bool ok = true;
  // More pages than events could ever need means the server keeps answering "more" without progress.
  for (int page = 0; page < 100000; ++page) {
    std::string rid = NextRid("sync");
    ++sync_requests_;
    if (Post("sync", {{"rid", rid}, {"after", cur_max_seq_}, {"limit", page_limit_}}) >= 0x80) {
      sync_error_ = "sync request refused (PUBACK >= 0x80)";
      ok = false;
      break;
    }
    // Events arriving while the page is awaited are deferred (syncing_), so the page is applied first.
    std::optional<json> reply;
    auto deadline = Clock::now() + page_timeout_;
    while (!(reply = FindReply([&](const json& r) { return r.value("rid", "") == rid; }))) {
      if (Clock::now() >= deadline) break;
      if (auto message = Next(std::min(Remaining(deadline), milliseconds(100)))) Handle(std::move(*message));
    }
    if (!reply) {
      sync_error_ = "no reply to sync request " + rid;
      ok = false;
      break;
    }
    if (reply->value("type", "") != "sync" || !(*reply)["events"].is_array() || !(*reply)["more"].is_boolean()) {
      sync_error_ = "bad sync reply: " + reply->dump();
      ok = false;
      break;
    }
    if ((*reply)["last_seq"].is_number_integer()) last_seq_seen_ = (*reply)["last_seq"].get<std::int64_t>();
    const json& events = (*reply)["events"];
    sync_page_sizes_.push_back(events.size());
    for (const json& event : events) {
      std::int64_t seq = SeqOf(event);
      if (seq >= 0 && seq <= cur_max_seq_) {
        ++duplicates_ignored_;  // a page overlapping what was applied: the server's fault, but harmless
        continue;
      }
      Apply(event, /*from_sync=*/true);
    }
    if (!(*reply)["more"].get<bool>()) break;
    if (events.empty()) {
      sync_error_ = "sync reply says more but has no events: " + reply->dump();
      ok = false;
      break;
    }
  }
  syncing_ = false;
  return ok;
}

void SyncingDevice::DrainDeferred() {
  bool can_sync = true;
  while (!deferred_events_.empty()) {
    json event = std::move(deferred_events_.front());
    deferred_events_.pop_front();
    std::int64_t seq = SeqOf(event);
    if (seq <= cur_max_seq_) {
      ++duplicates_ignored_;
    } else if (seq == cur_max_seq_ + 1) {
      Apply(event, /*from_sync=*/false);
    } else {
      ++gaps_detected_;
      // A failed sync is not retried for every later event: each attempt waits for its timeout.
      if (can_sync) can_sync = SyncPages();
      if (seq <= cur_max_seq_) {
        ++duplicates_ignored_;  // the sync brought it
      } else if (seq == cur_max_seq_ + 1) {
        Apply(event, /*from_sync=*/false);
      } else {
        ++holes_;  // still ahead after the sync: the server's queue lacks what it published
      }
    }
  }
}

void SyncingDevice::Apply(const json& event, bool from_sync) {
  std::int64_t seq = SeqOf(event);
  if (seq != cur_max_seq_ + 1) ++holes_;  // only a sync page can get here with a skip
  cur_max_seq_ = std::max(cur_max_seq_, seq);
  applied_.push_back({seq, from_sync, event});
}

namespace {

std::string SendKey(const json& body) {
  if (body.contains("rid")) return body["rid"].get<std::string>();
  return "cmid:" + body.value("cmid", "");
}

}  // namespace

void SyncingDevice::Handle(Received message) {
  if (!message.json.is_object()) return;  // not JSON: nothing the rules act on
  if (EndsWith(message.topic, "/msg") && message.json.contains("seq")) {
    deferred_events_.push_back(std::move(message.json));
    if (!syncing_) DrainDeferred();
    return;
  }
  const json& reply = message.json;
  if (reply.value("type", "") == "ack" && reply.value("op", "") == "send") {
    auto sent = sends_awaiting_ack_.find(SendKey(reply));
    if (sent != sends_awaiting_ack_.end()) {
      if (reply.contains("seq")) {
        // The message as the other devices get it, with this device's seq from the ack.
        json event = {{"type", "message"}, {"id", reply["id"]},   {"from", user_},
                      {"text", sent->second["text"]}, {"ts", reply["ts"]}, {"seq", reply["seq"]}};
        for (const char* field : {"to", "group", "cmid"}) {
          if (sent->second.contains(field)) event[field] = sent->second[field];
        }
        deferred_events_.push_back(std::move(event));
      }
      sends_awaiting_ack_.erase(sent);
    }
  }
  replies_.push_back(std::move(message.json));
  if (!syncing_) DrainDeferred();
}

std::optional<Received> SyncingDevice::Next(milliseconds timeout) {
  // WaitFor with a zero timeout looks only at what is queued; wait at least a moment for the network.
  return client_->WaitFor([](const Received&) { return true; }, std::max(timeout, milliseconds(1)));
}

bool SyncingDevice::PumpUntil(const std::function<bool()>& done, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    if (auto message = Next(std::min(Remaining(deadline), milliseconds(100)))) Handle(std::move(*message));
  }
  return true;
}

void SyncingDevice::PumpFor(milliseconds window) {
  PumpUntil([] { return false; }, window);
}

bool SyncingDevice::WaitForSeq(std::int64_t seq, milliseconds timeout) {
  return PumpUntil([&] { return cur_max_seq_ >= seq; }, timeout);
}

bool SyncingDevice::WaitForApplied(const std::function<bool(const json&)>& match, std::size_t count,
                                   milliseconds timeout) {
  // Counts incrementally: re-scanning everything applied on every message would be quadratic.
  std::size_t seen = 0;
  std::size_t scanned = 0;
  return PumpUntil(
      [&] {
        for (; scanned < applied_.size(); ++scanned) {
          if (match(applied_[scanned].event)) ++seen;
        }
        return seen >= count;
      },
      timeout);
}

int SyncingDevice::Post(const std::string& op, const json& body) {
  if (op == "send" && body.value("text", json()).is_string()) sends_awaiting_ack_[SendKey(body)] = body;
  return client_->Publish("chat/v1/req/" + op, body.dump());
}

std::optional<json> SyncingDevice::Request(const std::string& op, json body, milliseconds timeout) {
  if (!body.contains("rid")) body["rid"] = NextRid(op.c_str());
  std::string rid = body["rid"];
  if (Post(op, body) < 0) return std::nullopt;  // transport error; a refusal (0x87) still gets a reply
  return TakeReply([&](const json& r) { return r.value("rid", "") == rid; }, timeout);
}

std::optional<json> SyncingDevice::TakeReply(const std::function<bool(const json&)>& match, milliseconds timeout) {
  std::optional<json> found;
  PumpUntil([&] { return (found = FindReply(match)).has_value(); }, timeout);
  return found;
}

std::optional<json> SyncingDevice::FindReply(const std::function<bool(const json&)>& match) {
  for (auto it = replies_.begin(); it != replies_.end(); ++it) {
    if (match(*it)) {
      json found = std::move(*it);
      replies_.erase(it);
      return found;
    }
  }
  return std::nullopt;
}

std::vector<json> SyncingDevice::AppliedMessages(const std::string& group) const {
  std::vector<json> messages;
  for (const AppliedEvent& applied : applied_) {
    if (applied.event.value("type", "") != "message") continue;
    if (!group.empty() && applied.event.value("group", "") != group) continue;
    messages.push_back(applied.event);
  }
  return messages;
}

std::string SyncingDevice::NextRid(const char* prefix) {
  return std::string(prefix) + "-" + user_ + "-" + std::to_string(++next_rid_);
}

}  // namespace chat::harness
