// Fanout: puts one event into the sync queues of several users and, once the write is stored,
// publishes it live to each of them with that user's own sequence number.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/outbox.h"
#include "core/records.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

// Hands out per-user sync queue sequence numbers: last stored + 1, kept in memory after the first look
// at the store (one entry per user seen since start). Not thread-safe.
class SequenceAllocator {
 public:
  explicit SequenceAllocator(Store& store) : store_(store) {}
  // The next seq of `user_id`. Taken for good; after a failed write call Forget so it is reloaded.
  Result<std::uint64_t> Next(const std::string& user_id);
  void Forget(const std::string& user_id) { last_.erase(user_id); }

 private:
  Store& store_;
  std::unordered_map<std::string, std::uint64_t> last_;
};

// One request's fan-out. Live delivery is one publish per recipient on its own user topic (not one
// publish to a group topic that the broker fans out): each recipient's copy carries that recipient's
// seq, which is what lets a device tell a duplicate or a gap, and a removed member is simply not in
// the next message's recipient list, so membership changes take effect at once without subscription
// changes the broker would have to be told about.
class Fanout {
 public:
  explicit Fanout(SequenceAllocator& seqs) : seqs_(seqs) {}

  // Appends `entry` to `user_id`'s queue in `writes`, and remembers `event_json` (without seq) for
  // publishing; `event_json` is borrowed and must outlive Publish. Each user at most once per Fanout.
  Status Add(const std::string& user_id, const QueueEntry& entry, const std::string& event_json, WriteSet* writes);
  // Add for each of `users`; on failure the sequence numbers taken so far are given back.
  Status AddAll(const std::vector<std::string>& users, const QueueEntry& entry, const std::string& event_json,
                WriteSet* writes);
  // After `writes` was stored: publish every event on its user's message topic.
  void Publish(Outbox& outbox) const;
  // After `writes` failed: the taken sequence numbers are reloaded from the store next time.
  void Abandon();
  const std::vector<std::string>& users() const { return users_; }

 private:
  struct Delivery {
    std::uint64_t seq;
    const std::string* event_json;
  };
  SequenceAllocator& seqs_;
  std::vector<std::string> users_;
  std::vector<Delivery> deliveries_;
};

}  // namespace chat::core
