// Transaction: everything one request (or one server action) changes, as a value. Services fill it;
// ServiceContext::Commit is the one place that applies it: the writes in one atomic batch, then the
// publishes in the order they were added, then the in-memory changes that may only follow a stored
// write. A transaction dropped without a commit leaves no trace. This is what a commit stage off the
// broker thread carries.
#pragma once

#include <cstdint>
#include <functional>
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

// Not thread-safe. Borrows `seqs`.
class Transaction {
 public:
  explicit Transaction(SequenceAllocator& seqs) : seqs_(seqs) {}
  // Not committed: the sequence numbers it took are reloaded from the store next time.
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Stored in one batch by the commit.
  WriteSet writes;

  // Appends `entry` to `user_id`'s sync queue and publishes `event_json` (with that user's seq) on the
  // user's message topic once stored. Live delivery is one publish per recipient on its own user topic
  // (not one publish to a group topic that the broker fans out): each recipient's copy carries that
  // recipient's seq, which is what lets a device tell a duplicate or a gap, and a removed member is
  // simply not in the next message's recipient list, so membership changes take effect at once without
  // subscription changes the broker would have to be told about. Each user at most once per transaction.
  Status Deliver(const std::string& user_id, const QueueEntry& entry, const std::string& event_json);
  Status DeliverAll(const std::vector<std::string>& users, const QueueEntry& entry, const std::string& event_json);
  // Publishes after the commit, in the order added (see Outbox for what each kind means).
  void Reply(std::string client_id, std::string topic, std::string payload);
  void Ephemeral(std::string topic, std::string payload);
  // Runs after the writes were stored and everything was published: in-memory state that must not run
  // ahead of the store (caches, timers, job tables).
  void AfterCommit(std::function<void()> action) { after_commit_.push_back(std::move(action)); }

  // The users whose queues this transaction appends to (read from `writes`, in delivery order).
  std::vector<std::string> delivered_to() const;

  // For ServiceContext::Commit only: the write was stored; publish and run the after-commit actions.
  void Committed(Outbox& outbox);

 private:
  struct Publish {
    enum class Kind { kTopic, kEphemeral, kClient } kind;
    std::string client_id;
    std::string topic;
    std::string payload;
  };
  SequenceAllocator& seqs_;
  bool committed_ = false;
  std::vector<Publish> publishes_;
  std::vector<std::function<void()>> after_commit_;
};

}  // namespace chat::core
