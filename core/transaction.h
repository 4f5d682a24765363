// Transaction: everything one request (or one server action) changes, as a value. Services fill it;
// ServiceContext::Commit is the one place that applies it: the writes in one atomic batch, then the
// publishes in the order they were added, then the in-memory changes that may only follow a stored
// write. A transaction dropped without a commit leaves no trace. This is what a commit stage off the
// broker thread carries.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/outbox.h"
#include "core/protocol_format.h"
#include "core/records.h"
#include "core/status.h"
#include "core/store.h"

namespace chat::core {

// Hands out per-user sync queue sequence numbers: last stored + 1, kept in memory after the first look
// at the store (one entry per user seen since start, until ForgetAllIfOver). Not thread-safe.
class SequenceAllocator {
 public:
  explicit SequenceAllocator(Store& store) : store_(store) {}
  // The next seq of `user_id`. Submissions still being committed hold seqs the store does not have
  // yet, so the memory is the truth while they are in flight.
  Result<std::uint64_t> Next(const std::string& user_id);
  // Hands `seq` back if it is the last one given out for `user_id` (a transaction that took it was
  // dropped before it was submitted: it was prepared last, so its seqs are the newest).
  void GiveBack(const std::string& user_id, std::uint64_t seq);
  // After a failed commit, once nothing is in flight: everything is reloaded from the store.
  void ForgetAll() { last_.clear(); }
  // Once nothing is in flight (every seq given out is stored): forgets everything when more than
  // `max_users` users are remembered, so the memory stays bounded however many users a node serves.
  void ForgetAllIfOver(std::size_t max_users) {
    if (last_.size() > max_users) last_.clear();
  }
  std::size_t remembered() const { return last_.size(); }

 private:
  Store& store_;
  std::unordered_map<std::string, std::uint64_t> last_;
};

// Not thread-safe. Borrows `seqs`. Movable: ServiceContext keeps it while its writes are committed.
class Transaction {
 public:
  explicit Transaction(SequenceAllocator& seqs) : seqs_(&seqs) {}
  // Never submitted: the sequence numbers it took are given back.
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Stored in one batch by the commit.
  WriteSet writes;

  // Appends `entry` to `user_id`'s sync queue and, once stored, publishes `event_json` (with that
  // user's seq) to each of the user's devices. Live delivery is one publish per device (not one publish
  // to a group topic that the broker fans out): each recipient's copy carries that recipient's seq,
  // which is what lets a device tell a duplicate or a gap, and a removed member is simply not in the
  // next message's recipient list, so membership changes take effect at once without subscription
  // changes the broker would have to be told about. Each user at most once per transaction.
  Status Deliver(const std::string& user_id, const QueueEntry& entry, const std::string& event_json);
  // Deliver, except to `requesting_client`, the device that made the request: its reply carries the
  // seq returned here instead of a copy of the event.
  Result<std::uint64_t> DeliverToOtherDevices(const std::string& user_id, const QueueEntry& entry,
                                              const std::string& event_json, std::string_view requesting_client);
  Status DeliverAll(const std::vector<std::string>& users, const QueueEntry& entry, const std::string& event_json);
  // Room for `users` deliveries and a reply, made at once rather than grown one by one.
  void ReserveDeliveries(std::size_t users);
  // Publishes after the commit, in the order added (see Outbox for what each kind means).
  void Reply(std::string client_id, std::string topic, std::string payload);
  void Ephemeral(std::string topic, std::string payload);
  // What the requesting device gets instead of the reply when the commit fails (nothing else of the
  // transaction is published then): a storage_error reply to request `op` (a static name) tagged with
  // `tag`, built only when that happens.
  void OnFailure(std::string_view client_id, std::string_view user_id, std::string_view op, const RequestTag& tag);
  // Runs after the writes were stored and everything was published: in-memory state that must not run
  // ahead of the store (caches, timers, job tables).
  void AfterCommit(std::function<void()> action) { after_commit_.push_back(std::move(action)); }

  // The users whose queues this transaction appends to (read from `writes`, in delivery order).
  std::vector<std::string> delivered_to() const;

  // Finds the devices of a user to deliver to (connected ones and sessions the broker keeps for
  // offline ones); when null, a delivery is one publish on the user's message topic.
  using DeviceLookup = std::function<void(const std::string& user_id, std::vector<std::string>* client_ids)>;

  // For ServiceContext only. Submitted: the seqs it took are the commit's now, whatever its outcome.
  void Submitted() { submitted_ = true; }
  // The write was stored: publish and run the after-commit actions. Returns how many deliveries went
  // out to devices (each device's copy counts).
  std::size_t Committed(Outbox& outbox, const DeviceLookup& devices);
  // The write failed: publish the failure reply (if any), nothing else. Whether there was one.
  bool Failed(Outbox& outbox);

 private:
  struct Publish {
    enum class Kind { kDelivery, kEphemeral, kClient } kind;
    std::string client_id;  // kClient: the receiver; kDelivery: the device left out
    std::string topic;
    std::string payload;
    std::string user_id;  // kDelivery
  };
  struct FailureReply {
    std::string client_id;
    std::string user_id;
    std::string_view op;
    RequestTag tag;
  };
  SequenceAllocator* seqs_;
  bool submitted_ = false;
  std::vector<Publish> publishes_;
  std::optional<FailureReply> failure_reply_;
  std::vector<std::function<void()>> after_commit_;
};

}  // namespace chat::core
