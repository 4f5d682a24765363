#include "core/push_service.h"

#include <algorithm>

#include "core/mentions.h"
#include "core/names.h"
#include "core/push_job_format.h"
#include "core/push_providers.h"
#include "core/unread.h"
#include "core/utf8.h"

namespace chat::core {
namespace {

constexpr std::int64_t kTickMs = 200;
constexpr std::size_t kMaxTokenLength = 4096;
constexpr std::size_t kMaxPlatformLength = 32;
constexpr std::size_t kCachedTokenOwners = 100000;  // HasTokens' memory of users: a few MB

// What a push shows as the app's badge; nullopt when it could not be read (the push goes without).
std::optional<UnreadCount> UnreadTotalOf(Store& store, const std::string& user_id) {
  Result<UserRecord> user = store.GetUser(user_id);
  if (!user.ok()) return std::nullopt;
  Result<UnreadCount> total = CountUnreadTotal(store, user_id, user->history_floor);
  if (!total.ok()) return std::nullopt;
  return *total;
}

}  // namespace

PushService::PushService(ServiceContext& context, const PushSettings& settings,
                         std::function<bool(const std::string&)> has_device_online)
    : context_(context), settings_(settings), has_device_online_(std::move(has_device_online)) {}

void PushService::ForgetUser(const std::string& user_id, WriteSet* writes) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second.job.user_id != user_id) {
      ++it;
      continue;
    }
    writes->push_jobs_done.push_back(it->first);
    it = jobs_.erase(it);
  }
  collapsing_.erase(user_id);
  has_tokens_.erase(user_id);
}

Status PushService::Load() {
  Result<std::vector<PushJob>> jobs = context_.store.ListPushJobs();
  if (!jobs.ok()) return jobs.status();
  std::int64_t now = context_.clock.MonotonicMillis();
  for (PushJob& job : *jobs) jobs_[job.job_id] = Tracked{std::move(job), now, 0};
  return Status::Ok();
}

Result<bool> PushService::HasTokens(const std::string& user_id) {
  auto cached = has_tokens_.find(user_id);
  if (cached != has_tokens_.end()) return cached->second;
  Result<std::vector<PushToken>> tokens = context_.store.ListPushTokens(user_id);
  if (!tokens.ok()) return tokens.status();
  // A cache of a store read: emptied when large rather than tracked per entry, so its memory is bounded.
  if (has_tokens_.size() >= kCachedTokenOwners) has_tokens_.clear();
  has_tokens_[user_id] = !tokens->empty();
  return !tokens->empty();
}

Status PushService::OnMessage(const StoredMessage& message, const std::vector<std::string>& recipients,
                              Transaction& tx) {
  std::vector<PushJob> staged;
  for (const std::string& user : recipients) {
    if (user == message.from || has_device_online_(user)) continue;
    Result<bool> has_tokens = HasTokens(user);
    if (!has_tokens.ok()) return has_tokens.status();
    if (!*has_tokens) continue;
    Conversation seen_as = message.group_id.empty() ? Conversation::Direct(user, message.from)
                                                    : Conversation::Group(message.group_id);
    Result<bool> muted = context_.store.IsMuted(user, seen_as);
    if (!muted.ok()) return muted.status();
    if (*muted && !Mentions(message, user)) continue;  // a mention is notified even where muted
    PushJob job;
    auto open = collapsing_.find(user);
    if (open != collapsing_.end() && jobs_.count(open->second)) {
      job = jobs_[open->second].job;  // within the collapse window: one notification with a count
    } else {
      job.job_id = context_.NewId(tx);
      job.user_id = user;
      job.created_at_ms = message.created_at_ms;
    }
    ++job.count;
    job.from = message.from;
    job.conversation = message.group_id.empty() ? Conversation::Direct(user, message.from) : seen_as;
    job.preview = PreviewOfValidUtf8(message.text, settings_.preview_chars);
    job.message_id = message.id;
    tx.writes.push_jobs.push_back(job);
    staged.push_back(std::move(job));
  }
  if (!staged.empty()) tx.AfterCommit([this, jobs = std::move(staged)]() mutable { Track(std::move(jobs)); });
  return Status::Ok();
}

void PushService::OnMessageChanged(const StoredMessage& message, const std::vector<std::string>& participants,
                                   Transaction& tx) {
  std::vector<PushJob> changed;
  std::vector<MessageId> dropped;
  for (const std::string& user : participants) {
    // Only a job still collapsing can be changed: one offered is with the bridge already.
    auto open = collapsing_.find(user);
    if (open == collapsing_.end()) continue;
    auto tracked = jobs_.find(open->second);
    if (tracked == jobs_.end() || tracked->second.job.message_id != message.id) continue;
    PushJob job = tracked->second.job;
    if (message.deleted() && job.count <= 1) {
      tx.writes.push_jobs_done.push_back(job.job_id);
      dropped.push_back(job.job_id);
      continue;
    }
    if (message.deleted()) {
      --job.count;  // the others' texts were not kept: the notification counts them without a preview
      job.preview.clear();
    } else {
      job.preview = PreviewOfValidUtf8(message.text, settings_.preview_chars);
    }
    tx.writes.push_jobs.push_back(job);
    changed.push_back(std::move(job));
  }
  if (changed.empty() && dropped.empty()) return;
  tx.AfterCommit([this, changed = std::move(changed), dropped = std::move(dropped)]() mutable {
    for (PushJob& job : changed) {
      auto it = jobs_.find(job.job_id);
      if (it != jobs_.end()) it->second.job = std::move(job);
    }
    for (MessageId id : dropped) {
      auto it = jobs_.find(id);
      if (it == jobs_.end()) continue;
      auto open = collapsing_.find(it->second.job.user_id);
      if (open != collapsing_.end() && open->second == id) collapsing_.erase(open);
      jobs_.erase(it);
    }
  });
}

void PushService::Track(std::vector<PushJob> jobs) {
  std::int64_t due = context_.clock.MonotonicMillis() + static_cast<std::int64_t>(settings_.collapse_seconds) * 1000;
  for (PushJob& job : jobs) {
    auto [it, inserted] = jobs_.try_emplace(job.job_id, Tracked{job, due, 0});
    if (inserted) context_.metrics.push_jobs_queued.Add();
    if (!inserted) it->second.job = std::move(job);
    collapsing_[it->second.job.user_id] = it->first;
  }
}

void PushService::Offer(Tracked& tracked, std::int64_t now, Outbox& outbox, WriteSet* done) {
  const PushJob& job = tracked.job;
  auto open = collapsing_.find(job.user_id);
  if (open != collapsing_.end() && open->second == job.job_id) collapsing_.erase(open);  // later messages: new job
  Result<std::vector<PushToken>> tokens = context_.store.ListPushTokens(job.user_id);
  if (!tokens.ok()) {
    tracked.lease_ms = now + 1000;  // the store failed: try again shortly
    return;
  }
  if (tokens->empty()) {
    done->push_jobs_done.push_back(job.job_id);  // every token went meanwhile: nothing to send to
    tracked.lease_ms = -1;
    return;
  }
  // The rest reads the recipient's whole conversation list (the unread total): off the broker thread.
  BackgroundRead offer;
  offer.read = [job, tokens = std::move(*tokens)](Store& store) -> Result<std::string> {
    std::string title = job.from;
    if (job.conversation.is_group()) {
      Result<std::optional<GroupRecord>> group = store.GetGroup(job.conversation.key);
      if (group.ok() && *group) title = job.from + " @ " + (*group)->name;
    }
    return PushJobJson(job, title, tokens, UnreadTotalOf(store, job.user_id));
  };
  offer.deliver = [this](Result<std::string> made, Outbox& outbox) {
    if (!made.ok()) return;  // offered again when its lease runs out
    outbox.ToTopic(std::string(kPushJobsTopic), std::move(*made));
    context_.metrics.push_jobs_offered.Add();
  };
  if (!context_.reads.Submit(std::move(offer), outbox)) {
    tracked.lease_ms = now + 1000;  // the read worker is full: try again shortly
    return;
  }
  tracked.lease_ms = now + static_cast<std::int64_t>(settings_.lease_seconds) * 1000;
}

void PushService::OnTick(Outbox& outbox) {
  std::int64_t now = context_.clock.MonotonicMillis();
  if (now < next_tick_ms_ || jobs_.empty()) return;
  next_tick_ms_ = now + kTickMs;
  Transaction done(context_.seqs);
  for (auto& [id, tracked] : jobs_) {
    bool due = tracked.lease_ms == 0 ? tracked.due_ms <= now : tracked.lease_ms <= now;
    if (due) Offer(tracked, now, outbox, &done.writes);
  }
  std::erase_if(jobs_, [](const auto& entry) { return entry.second.lease_ms < 0; });
  // A job left behind by a failed write is offered again after a restart, and dropped then.
  if (!done.writes.empty()) context_.Commit(std::move(done), outbox, LaterSends::kMayPass);
}

Status PushService::Register(const Request& r) {
  std::string user(r.caller.user_id);
  WriteSet::TokenUpdate update{user, {}};
  Result<std::string> device = DeviceIdForClient(user, r.caller.client_id);
  if (!device.ok()) return device.status();
  update.token.device_id = *device;
  if (Status s = r.fields.RequiredString("provider", &update.token.provider); !s.ok()) return s;
  if (Status s = r.fields.RequiredString("token", &update.token.token); !s.ok()) return s;
  if (Status s = r.fields.OptionalString("platform", &update.token.platform); !s.ok()) return s;
  if (!IsKnownPushProvider(update.token.provider)) {
    return Status::Error(ErrorCode::kBadRequest, "provider must be " + JoinPushProviders(" or "));
  }
  if (update.token.token.empty() || update.token.token.size() > kMaxTokenLength) {
    return Status::Error(ErrorCode::kBadRequest, "token must be 1 to 4096 characters");
  }
  if (update.token.platform.size() > kMaxPlatformLength) {
    return Status::Error(ErrorCode::kBadRequest, "platform is longer than 32 characters");
  }
  r.tx.writes.push_tokens.push_back(std::move(update));
  r.tx.AfterCommit([this, user] { has_tokens_[user] = true; });
  r.Reply(OkJson("push_register", r.fields.tag()));
  return Status::Ok();
}

Status PushService::Unregister(const Request& r) {
  std::string user(r.caller.user_id);
  Result<std::string> device = DeviceIdForClient(user, r.caller.client_id);
  if (!device.ok()) return device.status();
  r.tx.writes.push_tokens.push_back({user, PushToken{*device, "", "", ""}});
  r.tx.AfterCommit([this, user] { has_tokens_.erase(user); });
  r.Reply(OkJson("push_unregister", r.fields.tag()));
  return Status::Ok();
}

Status PushService::Mute(const Request& r) {
  std::string user(r.caller.user_id);
  Result<Target> target = context_.TargetOf(r.caller, r.fields, "peer");
  if (!target.ok()) return target.status();
  WriteSet::MuteUpdate mute{user, target->conversation, true};
  if (!r.fields.Has("muted")) return Status::Error(ErrorCode::kBadRequest, "muted is required");
  if (Status s = r.fields.OptionalBool("muted", &mute.muted); !s.ok()) return s;
  r.tx.writes.mutes.push_back(std::move(mute));
  r.Reply(OkJson("mute", r.fields.tag()));
  return Status::Ok();
}

Status PushService::ReportResult(const Request& r) {
  if (!r.caller.is_service) {
    return Status::Error(ErrorCode::kNotAllowed, "only the push bridge reports push results");
  }
  MessageId job_id = 0;
  PushJobResult result;
  if (Status s = ParsePushResult(r.fields, &job_id, &result); !s.ok()) return s;
  const std::vector<std::string>& invalid = result.invalid_devices;
  auto it = jobs_.find(job_id);
  if (it != jobs_.end()) {
    // Done either way: a job is never offered again once the bridge has reported on it.
    const std::string& user = it->second.job.user_id;
    r.tx.writes.push_jobs_done.push_back(job_id);
    for (const std::string& device : invalid) r.tx.writes.push_tokens.push_back({user, {device, "", "", ""}});
    r.tx.AfterCommit([this, job_id, user, tokens_changed = !invalid.empty(), sent = result.sent] {
      (sent ? context_.metrics.push_jobs_done : context_.metrics.push_jobs_failed).Add();
      if (tokens_changed) has_tokens_.erase(user);
      auto open = collapsing_.find(user);
      if (open != collapsing_.end() && open->second == job_id) collapsing_.erase(open);
      jobs_.erase(job_id);
    });
  }
  r.Reply(OkJson("push_result", r.fields.tag()));
  return Status::Ok();
}

}  // namespace chat::core
