#include "storage/inbox_index.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <set>
#include <vector>

#include "storage/key_format.h"
#include "storage/rocksdb_access.h"

namespace chat::storage {
namespace {

using core::Conversation;
using core::ErrorCode;
using core::MessageId;
using core::Status;

std::string Number(std::uint64_t value) {
  std::string encoded;
  AppendBigEndian64(value, &encoded);
  return encoded;
}

}  // namespace

core::Result<MessageId> InboxIndex::Activity(const std::string& pointer_key, MessageId fallback) {
  auto batched = batched_.find(pointer_key);
  if (batched != batched_.end()) return batched->second;
  return read_stored_(pointer_key, fallback);
}

core::Result<MessageId> InboxIndex::GroupActivity(const std::string& group_id) {
  // A group nobody has written in yet is as active as its creation (group and message ids share a generator).
  return Activity(GroupActivityKey(group_id), core::ParseMessageId(group_id).value_or(0));
}

Status InboxIndex::Add(const core::WriteSet& writes, rocksdb::WriteBatch* batch) {
  for (const auto& member : writes.members_added) {
    core::Result<MessageId> activity = GroupActivity(member.group_id);
    if (!activity.ok()) return activity.status();
    batch->Put(InboxKey(member.user_id, {Conversation::Group(member.group_id), *activity}), "");
  }
  for (const auto& member : writes.members_removed) {
    core::Result<MessageId> activity = GroupActivity(member.group_id);
    if (!activity.ok()) return activity.status();
    batch->Delete(InboxKey(member.user_id, {Conversation::Group(member.group_id), *activity}));
  }
  if (writes.messages.empty()) return Status::Ok();

  // Whose queue each message goes to: exactly the users whose list it moves.
  std::unordered_map<MessageId, std::vector<const std::string*>> queued_for;
  for (const auto& append : writes.queue) {
    if (append.entry.kind == core::QueueEntry::Kind::kMessage) {
      queued_for[append.entry.message_id].push_back(&append.user_id);
    }
  }
  for (const core::StoredMessage& message : writes.messages) {
    Conversation conversation = message.conversation();
    auto users = queued_for.find(message.id);
    if (users == queued_for.end()) continue;
    if (conversation.is_group()) {
      core::Result<MessageId> previous = GroupActivity(message.group_id);
      if (!previous.ok()) return previous.status();
      for (const std::string* user : users->second) {
        batch->Delete(InboxKey(*user, {conversation, *previous}));
        batch->Put(InboxKey(*user, {conversation, message.id}), "");
      }
      std::string pointer = GroupActivityKey(message.group_id);
      batch->Put(pointer, Number(message.id));
      batched_[pointer] = message.id;
      continue;
    }
    for (const std::string* user : users->second) {
      // Each side's previous activity is its peer/ entry, which the write set itself moves to this message.
      std::string pointer = PeerKey(*user, *user == message.from ? message.to : message.from);
      core::Result<MessageId> previous = Activity(pointer, 0);
      if (!previous.ok()) return previous.status();
      if (*previous != 0) batch->Delete(InboxKey(*user, {conversation, *previous}));
      batch->Put(InboxKey(*user, {conversation, message.id}), "");
      batched_[pointer] = message.id;
    }
  }
  return Status::Ok();
}

Status BuildInboxes(rocksdb::DB* db, bool sync) {
  rocksdb::WriteOptions write;
  write.sync = sync;
  rocksdb::WriteBatch batch;
  auto flush_if_full = [&](bool last) -> Status {
    if (batch.Count() < (last ? 1u : 1000u)) return Status::Ok();
    rocksdb::Status s = db->Write(write, &batch);
    batch.Clear();
    return FromRocks(s);
  };
  auto scan = [&](const std::string& prefix, auto visit) -> Status {
    BoundedIterator it(db, prefix, PrefixEnd(prefix));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (Status s = visit(it.key().substr(prefix.size()), it.value()); !s.ok()) return s;
    }
    return FromRocks(it->status());
  };

  // peer/<user>\0<peer> -> newest message id
  Status peers = scan("peer/", [&](std::string_view rest, std::string_view value) -> Status {
    std::size_t nul = rest.find('\0');
    if (nul == std::string_view::npos || value.size() != 8) return Status::Error(ErrorCode::kCorruption, "bad peer record");
    std::string user(rest.substr(0, nul));
    std::string peer(rest.substr(nul + 1));
    batch.Put(InboxKey(user, {Conversation::Direct(user, peer), ReadBigEndian64(value)}), "");
    return flush_if_full(false);
  });
  if (!peers.ok()) return peers;

  // ugrp/<user>\0<group>: each group's activity once, then each member's entry.
  std::unordered_map<std::string, MessageId> group_activity;
  Status groups = scan("ugrp/", [&](std::string_view rest, std::string_view) -> Status {
    std::size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) return Status::Error(ErrorCode::kCorruption, "bad user group record");
    std::string user(rest.substr(0, nul));
    std::string group(rest.substr(nul + 1));
    auto [known, fresh] = group_activity.try_emplace(group, core::ParseMessageId(group).value_or(0));
    if (fresh) {
      std::string prefix = ConversationPrefix(Conversation::Group(group));
      BoundedIterator it(db, prefix, PrefixEnd(prefix));
      it->SeekToLast();
      if (!it->status().ok()) return FromRocks(it->status());
      if (it->Valid()) known->second = TrailingNumber(it.key());
      batch.Put(GroupActivityKey(group), Number(known->second));
    }
    batch.Put(InboxKey(user, {Conversation::Group(group), known->second}), "");
    return flush_if_full(false);
  });
  if (!groups.ok()) return groups;
  return flush_if_full(true);
}

}  // namespace chat::storage
