// InboxIndex: keeps every user's conversation list (ib/ keys, ordered by activity) current as write sets
// are turned into a RocksDB batch, so that a page of the list is one range scan of its own size
// however many conversations the user has. It runs where the batch is built: on the commit stage's
// writer thread, never on the broker thread.
//
// A conversation's activity is the id of its newest message (for a group without one, the group's id).
// Every member's key of a conversation carries the same activity, moved for all of them by each message:
// a 1:1 side's previous activity is its peer/ entry, a group's is its gact/ entry (written here).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "core/records.h"
#include "core/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}

namespace chat::storage {

class InboxIndex {
 public:
  // Reads the 8-byte number stored under a key, or the fallback when the key is absent.
  using ReadNumber = std::function<core::Result<std::uint64_t>(const std::string& key, std::uint64_t fallback)>;
  explicit InboxIndex(ReadNumber read_stored) : read_stored_(std::move(read_stored)) {}

  // Adds to `batch` the list changes `writes` implies: a member added to or removed from a group gains
  // or loses it at the group's activity; a message moves its conversation to the top of the list of
  // every user it is queued for. Call for each set of one batch, in order: a later set sees what an
  // earlier one moved.
  core::Status Add(const core::WriteSet& writes, rocksdb::WriteBatch* batch);

 private:
  // The activity recorded under `pointer_key` (a peer/ or gact/ key): this batch's, else the store's.
  core::Result<core::MessageId> Activity(const std::string& pointer_key, core::MessageId fallback);
  core::Result<core::MessageId> GroupActivity(const std::string& group_id);

  ReadNumber read_stored_;
  std::unordered_map<std::string, core::MessageId> batched_;
};

// Writes the conversation list of every user from the 1:1 partners (peer/) and groups (ugrp/) of a
// store made before the list existed (layout 1), in batches. Before the store is shared.
core::Status BuildInboxes(rocksdb::DB* db, bool sync);

}  // namespace chat::storage
