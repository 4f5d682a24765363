#include "storage/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <shared_mutex>

#include "storage/inbox_index.h"
#include "storage/rocksdb_access.h"
#include "storage/key_format.h"
#include "storage/record_codec.h"
#include "storage/search_index.h"

namespace chat::storage {
namespace {

using core::ErrorCode;
using core::Status;

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Calls `visit(suffix, value)` for every key starting with `prefix`, in key order, until it returns false.
template <typename Visit>
Status ScanPrefix(rocksdb::DB* db, const std::string& prefix, Visit visit) {
  BoundedIterator it(db, prefix, PrefixEnd(prefix));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!visit(it.key().substr(prefix.size()), it.value())) break;
  }
  return FromRocks(it->status());
}

// Every record under `prefix`, in key order, each read by `decode(suffix, value, &record)` (a Status);
// the first record that does not decode fails the whole list.
template <typename Record, typename Decode>
core::Result<std::vector<Record>> DecodeAllUnder(rocksdb::DB* db, const std::string& prefix, Decode decode) {
  std::vector<Record> records;
  Status decoded = Status::Ok();
  Status s = ScanPrefix(db, prefix, [&](std::string_view suffix, std::string_view value) {
    Record record;
    decoded = decode(suffix, value, &record);
    if (decoded.ok()) records.push_back(std::move(record));
    return decoded.ok();
  });
  if (!s.ok()) return s;
  if (!decoded.ok()) return decoded;
  return records;
}

// Calls `visit(key, value)` for the keys under `prefix` whose next 8 bytes (an id or an activity) are
// below `before` (0: all of them), newest first, `limit` at most; `*more` when keys remain beyond.
template <typename Visit>
Status NewestFirst(rocksdb::DB* db, const std::string& prefix, core::MessageId before, std::size_t limit, bool* more,
                   Visit visit) {
  std::string upper = PrefixEnd(prefix);
  if (before != 0) {
    upper = prefix;
    AppendBigEndian64(before, &upper);
  }
  BoundedIterator it(db, prefix, upper);
  std::size_t visited = 0;
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    if (visited++ == limit) {
      *more = true;
      break;
    }
    if (Status s = visit(it.key(), it.value()); !s.ok()) return s;
  }
  return FromRocks(it->status());
}

// The rest of every key starting with `prefix` (a list stored as keys: members, groups), in key order.
core::Result<std::vector<std::string>> SuffixesUnder(rocksdb::DB* db, const std::string& prefix) {
  std::vector<std::string> suffixes;
  Status s = ScanPrefix(db, prefix, [&](std::string_view suffix, std::string_view) {
    suffixes.emplace_back(suffix);
    return true;
  });
  if (!s.ok()) return s;
  return suffixes;
}

// The part of a key before and including its first NUL: the owner of a row of keys (a user's queue, a
// conversation's messages, a sender's idempotency entries), whose new keys mostly sort right after the
// owner's last one (sequence numbers and message ids grow). Keys without a NUL are outside its domain.
class KeyOwner final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "chat.KeyOwner"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = std::memchr(key.data(), '\0', key.size());
    return rocksdb::Slice(key.data(), static_cast<const char*>(nul) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::memchr(key.data(), '\0', key.size()) != nullptr;
  }
};

}  // namespace

namespace {

rocksdb::Options StoreOptions(const core::StorageSettings& memory) {
  rocksdb::Options options;
  options.write_buffer_size = static_cast<std::size_t>(memory.write_buffer_mb) << 20;
  options.max_write_buffer_number = 2;
  options.create_if_missing = true;
  // Point lookups (users, idempotency keys) dominate reads: a bloom filter saves disk seeks on misses.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Memory stays bounded as history grows: every table's index and filter live in the block cache
  // (otherwise each open table keeps its own in memory for good, a chat-soak run grew ~1 MB a minute),
  // those of the newest tables pinned there since every write's lookups go through them.
  table.block_cache = rocksdb::NewLRUCache(static_cast<std::size_t>(memory.block_cache_mb) << 20);
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // ... in partitions of about 4 KB under a small top level (pinned): a lookup loads the partition it
  // needs. A table's whole filter outgrows a shard of the cache (a 2-million-key table has a 2.4 MB
  // filter; the 64 MB cache has 64 shards), and then it was read from the file and checksummed again
  // for every Get: a chat-soak run found the broker thread stalled there, its sends no longer acked.
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Every send asks "does the peer exist?" and "was this cmid seen?" on the broker thread. Hits come from
  // the row cache, misses (new cmids) stop at the memtable's bloom filter instead of a skip-list search.
  if (memory.row_cache_mb > 0) options.row_cache = rocksdb::NewLRUCache(static_cast<std::size_t>(memory.row_cache_mb) << 20);
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.05;
  options.compression = rocksdb::kLZ4Compression;
  options.IncreaseParallelism(2);
  // The writer thread's time went to finding where each new key goes in the memtable's skip list. A
  // hint per key owner (the place of its last insert) makes most inserts start next to their place.
  // It needs memtable writes from one thread at a time, which is how the commit stage writes anyway,
  // and costs a little memory per owner written since the memtable began.
  options.allow_concurrent_memtable_write = false;
  options.memtable_insert_with_hint_prefix_extractor = std::make_shared<KeyOwner>();
  return options;
}

// Opens the database in `path` for writing, or only for reading; `create` makes a new one if there is none.
rocksdb::Status OpenDatabase(const std::string& path, bool read_only, std::unique_ptr<rocksdb::DB>* db,
                             rocksdb::Env* env, const core::StorageSettings& memory, bool create = false) {
  rocksdb::Options options = StoreOptions(memory);
  options.create_if_missing = create;
  if (env != nullptr) options.env = env;
  rocksdb::DB* raw = nullptr;
  auto open = [&] {
    return read_only ? rocksdb::DB::OpenForReadOnly(options, path, &raw) : rocksdb::DB::Open(options, path, &raw);
  };
  rocksdb::Status s = open();
  if (!s.ok() && !read_only) {
    // LZ4 may be missing from a RocksDB build; fall back rather than refuse to start.
    options.compression = rocksdb::kNoCompression;
    s = open();
  }
  if (s.ok()) db->reset(raw);
  return s;
}

}  // namespace

namespace {

// What a data folder holds before it is opened.
enum class FolderState { kEmpty, kStore, kSomethingElse };

FolderState InspectFolder(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return FolderState::kEmpty;
  if (std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) return FolderState::kStore;
  return std::filesystem::is_directory(path, ec) && std::filesystem::is_empty(path, ec) ? FolderState::kEmpty
                                                                                       : FolderState::kSomethingElse;
}

// Why a store could not be opened, for the operator who reads the broker's log.
Status OpenFailure(const std::string& path, const rocksdb::Status& s) {
  std::string what = s.ToString();
  if (s.IsIOError() && what.find("lock") != std::string::npos) {
    return Status::Error(ErrorCode::kIoError, "the store in " + path +
                                                  " is in use by another process (its LOCK is held): is a broker "
                                                  "or chatctl already running on it? (" + what + ")");
  }
  if (s.IsCorruption()) {
    return Status::Error(ErrorCode::kCorruption, "the store in " + path + " is damaged (" + what +
                                                     "); it was not opened and nothing in it was changed: "
                                                     "restore it from a backup, or move it aside to start empty");
  }
  return Status::Error(ErrorCode::kIoError, "cannot open the store in " + path + ": " + what);
}

}  // namespace

core::Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& path, Durability durability) {
  return Open(path, durability, core::StorageSettings{}, nullptr);
}

core::Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& path, Durability durability,
                                                               std::shared_ptr<rocksdb::FileSystem> file_system) {
  return Open(path, durability, core::StorageSettings{}, std::move(file_system));
}

core::Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& path, Durability durability,
                                                               const core::StorageSettings& memory,
                                                               std::shared_ptr<rocksdb::FileSystem> file_system) {
  std::unique_ptr<rocksdb::Env> env = file_system ? rocksdb::NewCompositeEnv(file_system) : nullptr;
  // A store is only ever created in an empty folder: RocksDB asked to create one where its CURRENT file
  // is missing (a damaged store, a wrong path) would start a new store there and delete the old one's
  // files as obsolete.
  FolderState state = InspectFolder(path);
  if (state == FolderState::kSomethingElse) {
    return Status::Error(ErrorCode::kCorruption,
                         "the data folder " + path +
                             " is not empty but holds no store (no CURRENT file); it was left as it is: point "
                             "data_dir at an empty folder or at a store, or restore the store from a backup");
  }
  std::unique_ptr<rocksdb::DB> db;
  if (state == FolderState::kStore) {
    // The layout is checked through a read-only view first: opening for writing already writes (it
    // replays the log into a new table file), and a store this server cannot read must stay untouched.
    rocksdb::Status s = OpenDatabase(path, /*read_only=*/true, &db, env.get(), memory);
    if (!s.ok()) return OpenFailure(path, s);
    std::unique_ptr<RocksDbStore> view(new RocksDbStore(std::move(db), path, durability));
    core::Result<std::uint64_t> version = view->GetNumber(std::string(kFormatVersionKey), 0);
    if (!version.ok()) return version.status();
    if (*version > kFormatVersion) {
      return Status::Error(ErrorCode::kCorruption, "the store in " + path + " was written by a newer server (layout " +
                                                       std::to_string(*version) + "; this one reads up to " +
                                                       std::to_string(kFormatVersion) +
                                                       "); it was not changed: run the newer server");
    }
  }
  rocksdb::Status s =
      OpenDatabase(path, /*read_only=*/false, &db, env.get(), memory, /*create=*/state == FolderState::kEmpty);
  if (!s.ok()) return OpenFailure(path, s);
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(std::move(db), path, durability));
  store->memory_ = memory;
  store->env_ = std::move(env);
  if (Status s = store->RecordFormatVersion(); !s.ok()) return s;
  return store;
}

Status RocksDbStore::RecordFormatVersion() {
  core::Result<std::uint64_t> version = GetNumber(std::string(kFormatVersionKey), 0);
  if (!version.ok()) return version.status();
  if (*version == kFormatVersion) return Status::Ok();
  // A new store, or an older layout (one made before the version was recorded is version 1): what
  // later versions added is built from what it holds.
  if (*version < 2) {
    if (Status built = BuildInboxes(db_.get(), sync_); !built.ok()) return built;
  }
  if (*version < 4) {
    if (Status built = storage::RebuildSearchIndex(db_.get(), sync_); !built.ok()) return built;
  }
  std::string encoded;
  AppendBigEndian64(kFormatVersion, &encoded);
  rocksdb::WriteOptions write;
  write.sync = true;
  return FromRocks(db_->Put(write, std::string(kFormatVersionKey), encoded));
}

RocksDbStore::RocksDbStore(std::unique_ptr<rocksdb::DB> db, std::string path, Durability durability)
    : db_(std::move(db)), path_(std::move(path)), sync_(durability == Durability::kPowerLoss) {}

void RocksDbStore::RequireFreeDisk(std::uint64_t bytes, FreeDiskBytes free_bytes) {
  min_free_disk_bytes_ = bytes;
  free_disk_bytes_ = free_bytes ? std::move(free_bytes) : [path = path_]() -> std::uint64_t {
    struct statvfs disk {};
    if (statvfs(path.c_str(), &disk) != 0) return UINT64_MAX;  // unknown: let RocksDB find out
    return static_cast<std::uint64_t>(disk.f_bavail) * disk.f_frsize;
  };
}

Status RocksDbStore::CheckFreeDisk() const {
  if (min_free_disk_bytes_ == 0) return Status::Ok();
  std::uint64_t free_bytes = free_disk_bytes_();
  if (free_bytes >= min_free_disk_bytes_) return Status::Ok();
  return Status::Error(ErrorCode::kIoError, "the disk holding the store has " + std::to_string(free_bytes >> 20) +
                                                " MB free; writes need " + std::to_string(min_free_disk_bytes_ >> 20) +
                                                " MB (min_free_disk_mb)");
}

Status RocksDbStore::ProbeWrite() const {
  // A page written and synced, then removed: if that fails, closing the failed database (which flushes
  // what it holds) and opening it again would fail too.
  std::string probe = path_ + "/.write-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(ErrorCode::kIoError, "cannot write to " + path_ + ": " + std::strerror(errno));
  std::string block(4096, '\0');
  bool written = ::write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size()) && ::fsync(fd) == 0;
  int error = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!written) return Status::Error(ErrorCode::kIoError, "cannot write to " + path_ + ": " + std::strerror(error));
  return Status::Ok();
}

Status RocksDbStore::RecoverFromWriteFailure() {
  // Refused by the free-space check, RocksDB is untouched: writes go on once there is room.
  if (!write_failed_.load()) return CheckFreeDisk();
  // After a failed write to its log (an I/O error), RocksDB refuses every later write, and Resume() does
  // not clear that: the log may end in a torn record. Opening the database again replays the log up to
  // its last whole record. Closing the failed handle flushes what it still holds, so first the disk must
  // take a write again (a probe file). A read-only view, opened beside the failed handle (it takes no
  // lock), keeps reads working in between, and stays if the database cannot be opened for writing yet:
  // writes then fail at once, and the next try comes a second later.
  if (Status room = ProbeWrite(); !room.ok()) return room;
  std::unique_lock<std::shared_mutex> handle(handle_mutex_);  // a backup in progress finishes first
  std::unique_ptr<rocksdb::DB> reader;
  rocksdb::Status s = OpenDatabase(path_, /*read_only=*/true, &reader, env_.get(), memory_);
  if (!s.ok()) return Status::Error(ErrorCode::kIoError, "cannot reopen RocksDB at " + path_ + ": " + s.ToString());
  core::IgnoreError(FromRocks(db_->Close()), "the handle is being replaced after a failed write");
  db_ = std::move(reader);
  std::unique_ptr<rocksdb::DB> writer;
  s = OpenDatabase(path_, /*read_only=*/false, &writer, env_.get(), memory_);
  if (!s.ok()) {
    return Status::Error(ErrorCode::kIoError, "RocksDB at " + path_ + " is read-only until it can be opened: " +
                                                  s.ToString());
  }
  db_ = std::move(writer);
  write_failed_.store(false);
  return Status::Ok();
}

RocksDbStore::~RocksDbStore() {
  if (db_) core::IgnoreError(FromRocks(db_->Close()), "closing at shutdown; the WAL holds every write");
}

core::Result<core::UserRecord> RocksDbStore::GetUser(const std::string& user_id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), UserKey(user_id), &value);
  if (!s.ok()) return FromRocks(s);
  core::UserRecord user;
  if (Status d = DecodeUser(user_id, value, &user); !d.ok()) return d;
  return user;
}

Status RocksDbStore::UserExists(const std::string& user_id) {
  std::string value;
  return FromRocks(db_->Get(rocksdb::ReadOptions(), UserKey(user_id), &value));
}

Status RocksDbStore::PutUser(const core::UserRecord& user) {
  rocksdb::WriteBatch batch;
  batch.Put(UserKey(user.user_id), EncodeUser(user));
  return Write(&batch);
}

Status RocksDbStore::DeleteUser(const std::string& user_id) {
  if (Status exists = UserExists(user_id); !exists.ok()) return exists;
  rocksdb::WriteBatch batch;
  batch.Delete(UserKey(user_id));
  return Write(&batch);
}

core::Result<std::vector<std::string>> RocksDbStore::ListUsers(const std::string& after, std::size_t limit) {
  std::vector<std::string> ids;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::string start = UserKey(after);
  for (it->Seek(start); it->Valid() && ids.size() < limit; it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, kUserPrefix.size()) != kUserPrefix) break;
    if (key == start) continue;
    ids.emplace_back(key.substr(kUserPrefix.size()));
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return ids;
}

Status RocksDbStore::Write(rocksdb::WriteBatch* batch) {
  if (Status room = CheckFreeDisk(); !room.ok()) return room;
  rocksdb::WriteOptions write;
  write.sync = sync_;
  rocksdb::Status s = db_->Write(write, batch);
  if (!s.ok()) write_failed_.store(true);
  return FromRocks(s);
}

core::Result<std::uint64_t> RocksDbStore::GetNumber(const std::string& key, std::uint64_t fallback) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return fallback;
  if (!s.ok()) return FromRocks(s);
  if (value.size() != 8) return Status::Error(ErrorCode::kCorruption, "bad number record");
  return ReadBigEndian64(value);
}

core::Result<std::string> RocksDbStore::LastKeyWithPrefix(const std::string& prefix) {
  BoundedIterator it(db_.get(), prefix, PrefixEnd(prefix));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status());
  return it->Valid() ? std::string(it.key()) : std::string();
}

Status RocksDbStore::Apply(const core::WriteSet& writes) { return ApplyAll({&writes}); }

Status RocksDbStore::ApplyAll(const std::vector<const core::WriteSet*>& sets) {
  // A cluster node's log thread may write while the broker thread reopens the store after a failed
  // write (RecoverFromWriteFailure): it waits for the new handle.
  std::shared_lock<std::shared_mutex> handle(handle_mutex_);
  rocksdb::WriteBatch batch;
  core::MessageId id_floor = 0;
  InboxIndex inbox([this](const std::string& key, std::uint64_t fallback) { return GetNumber(key, fallback); });
  SearchIndexer search(db_.get());
  for (const core::WriteSet* writes : sets) {
    if (Status s = AddToBatch(*writes, &batch); !s.ok()) return s;
    if (Status s = inbox.Add(*writes, &batch); !s.ok()) return s;
    if (Status s = search.Add(*writes, &batch); !s.ok()) return s;
    id_floor = std::max(id_floor, writes->id_floor);
  }
  // Once per batch, not per set: the floor only ever needs the largest.
  if (id_floor != 0) {
    std::string floor;
    AppendBigEndian64(id_floor, &floor);
    batch.Put(AsSlice(kLargestMessageIdKey), floor);
  }
  return Write(&batch);
}

Status RocksDbStore::AddToBatch(const core::WriteSet& writes, rocksdb::WriteBatch* batch) {
  std::string number;
  auto encoded = [&number](std::uint64_t value) -> const std::string& {
    number.clear();
    AppendBigEndian64(value, &number);
    return number;
  };
  auto delete_all = [&](const std::string& prefix) {
    return ScanPrefix(db_.get(), prefix, [&](std::string_view suffix, std::string_view) {
      batch->Delete(prefix + std::string(suffix));
      return true;
    });
  };
  for (const std::string& user : writes.erased_users) {
    for (const std::string& prefix : UserRecordPrefixes(user)) {
      if (Status scanned = delete_all(prefix); !scanned.ok()) return scanned;
    }
    batch->Delete(LastActiveKey(user));
    core::Result<std::uint64_t> last = LastQueueSeq(user);
    if (!last.ok()) return last.status();
    batch->Put(QueueFloorKey(user), encoded(*last));
  }
  for (const core::StoredMessage& message : writes.messages) {
    batch->Put(MessageKey(message.conversation(), message.id), EncodeMessage(message));
    if (!message.client_message_id.empty()) {
      batch->Put(ClientMessageIdKey(message.from, message.client_message_id), encoded(message.id));
    }
  }
  for (const core::StoredMessage& message : writes.changed_messages) {
    batch->Put(MessageKey(message.conversation(), message.id), EncodeMessage(message));
  }
  for (const auto& mention : writes.mentions) batch->Put(MentionKey(mention.user_id, mention.message_id), mention.group_id);
  for (const auto& mention : writes.mentions_removed) batch->Delete(MentionKey(mention.user_id, mention.message_id));
  for (const auto& append : writes.queue) {
    batch->Put(QueueKey(append.user_id, append.seq), EncodeQueueEntry(append.entry));
  }
  for (const core::GroupRecord& group : writes.groups) {
    batch->Put(GroupKey(group.group_id), EncodeGroup(group));
  }
  for (const auto& member : writes.members_added) {
    batch->Put(MemberKey(member.group_id, member.user_id), encoded(static_cast<std::uint64_t>(member.joined_at_ms)));
    batch->Put(UserGroupKey(member.user_id, member.group_id), "");
  }
  for (const auto& member : writes.members_removed) {
    batch->Delete(MemberKey(member.group_id, member.user_id));
    batch->Delete(UserGroupKey(member.user_id, member.group_id));
  }
  for (const auto& member : writes.group_accepts) batch->Put(TookPartKey(member.group_id, member.user_id), "");
  for (const auto& member : writes.took_part_removed) batch->Delete(TookPartKey(member.group_id, member.user_id));
  for (const auto& invite : writes.invites_added) {
    batch->Put(InviteKey(invite.user_id, invite.group_id), EncodeInvite(invite));
  }
  for (const auto& invite : writes.invites_removed) batch->Delete(InviteKey(invite.user_id, invite.group_id));
  for (const auto& position : writes.read_positions) {
    batch->Put(ReadPositionKey(position.user_id, position.conversation), encoded(position.up_to));
  }
  for (const auto& update : writes.peers) {
    batch->Put(PeerKey(update.user_id, update.peer.peer), encoded(update.peer.last_id));
  }
  for (const auto& contact : writes.contacts) {
    if (contact.state == core::ContactState::kNone) {
      batch->Delete(ContactKey(contact.user_id, contact.other));
    } else {
      batch->Put(ContactKey(contact.user_id, contact.other), std::string(1, static_cast<char>(contact.state)));
    }
  }
  for (const auto& update : writes.push_tokens) {
    if (update.token.provider.empty()) {
      batch->Delete(PushTokenKey(update.user_id, update.token.device_id));
    } else {
      batch->Put(PushTokenKey(update.user_id, update.token.device_id), EncodePushToken(update.token));
    }
  }
  for (const std::string& user : writes.resume_tokens_revoked) {
    if (Status scanned = delete_all(ResumeTokenPrefix(user)); !scanned.ok()) return scanned;
  }
  for (const auto& update : writes.resume_tokens) {
    if (update.token.digest.empty()) {
      batch->Delete(ResumeTokenKey(update.user_id, update.token.device_id));
    } else {
      batch->Put(ResumeTokenKey(update.user_id, update.token.device_id), EncodeResumeToken(update.token));
    }
  }
  for (const core::UserRecord& user : writes.users) batch->Put(UserKey(user.user_id), EncodeUser(user));
  for (const std::string& user_id : writes.users_deleted) batch->Delete(UserKey(user_id));
  for (const core::PushJob& job : writes.push_jobs) batch->Put(PushJobKey(job.job_id), EncodePushJob(job));
  for (core::MessageId job_id : writes.push_jobs_done) batch->Delete(PushJobKey(job_id));
  for (const auto& pending : writes.log_outbox_added) batch->Put(LogOutboxKey(pending.change_id), pending.record);
  for (core::MessageId change_id : writes.log_outbox_done) batch->Delete(LogOutboxKey(change_id));
  for (const auto& mute : writes.mutes) {
    if (mute.muted) {
      batch->Put(MuteKey(mute.user_id, mute.conversation), "");
    } else {
      batch->Delete(MuteKey(mute.user_id, mute.conversation));
    }
  }
  for (const auto& seen : writes.last_active) {
    batch->Put(LastActiveKey(seen.user_id), encoded(static_cast<std::uint64_t>(seen.at_ms)));
  }
  return Status::Ok();
}

core::Result<std::optional<core::MessageId>> RocksDbStore::FindByClientMessageId(const std::string& sender,
                                                                                 const std::string& cmid) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ClientMessageIdKey(sender, cmid), &value);
  if (s.IsNotFound()) return std::optional<core::MessageId>();
  if (!s.ok()) return FromRocks(s);
  if (value.size() != 8) return Status::Error(ErrorCode::kCorruption, "bad idempotency record");
  return std::optional<core::MessageId>(ReadBigEndian64(value));
}

core::Result<core::MessagePage> RocksDbStore::ReadConversation(const core::Conversation& conversation,
                                                               const core::HistoryQuery& query) {
  // Bound the scan to this conversation and the query's window so RocksDB never reads past it.
  // Bounds are exclusive: a key just above `after`'s (suffix '\0') and exactly `before`'s.
  std::string lower = ConversationPrefix(conversation);
  std::string upper = PrefixEnd(lower);
  if (query.after) lower = MessageKey(conversation, query.after) + '\0';
  if (query.before) upper = MessageKey(conversation, query.before);
  BoundedIterator it(db_.get(), std::move(lower), std::move(upper));

  core::MessagePage page;
  if (query.newest_first) {
    it->SeekToLast();
  } else {
    it->SeekToFirst();
  }
  std::size_t bytes = 0;
  while (it->Valid()) {
    if (page.messages.size() == query.limit || (query.max_bytes != 0 && bytes >= query.max_bytes)) {
      page.more = true;
      break;
    }
    bytes += it.value().size();
    core::StoredMessage message;
    Status decoded = DecodeMessage(TrailingNumber(it.key()), it.value(), &message);
    if (!decoded.ok()) return decoded;
    page.messages.push_back(std::move(message));
    if (query.newest_first) {
      it->Prev();
    } else {
      it->Next();
    }
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return page;
}

core::Result<std::optional<core::StoredMessage>> RocksDbStore::GetMessage(const core::Conversation& conversation,
                                                                          core::MessageId id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), MessageKey(conversation, id), &value);
  if (s.IsNotFound()) return std::optional<core::StoredMessage>();
  if (!s.ok()) return FromRocks(s);
  core::StoredMessage message;
  if (Status d = DecodeMessage(id, value, &message); !d.ok()) return d;
  return std::optional<core::StoredMessage>(std::move(message));
}

core::Result<core::UnreadCount> RocksDbStore::CountMessagesAfter(const core::Conversation& conversation,
                                                                 core::MessageId after, const std::string& exclude_from,
                                                                 std::size_t cap, std::size_t max_bytes) {
  BoundedIterator it(db_.get(), MessageKey(conversation, after) + '\0', PrefixEnd(ConversationPrefix(conversation)));
  core::UnreadCount unread;
  std::size_t steps = 0;
  // Scans newest first, at most `cap` messages and `max_bytes`, whoever sent them: the cost is bounded
  // whatever the backlog (a conversation of the caller's own messages counts 0 after `cap` steps).
  for (it->SeekToLast(); it->Valid(); it->Prev(), ++steps) {
    if (steps == cap || (max_bytes != 0 && unread.bytes_read >= max_bytes)) {
      unread.complete = false;
      break;
    }
    unread.bytes_read += it.value().size();
    std::string sender;
    Status decoded = DecodeMessageSender(it.value(), &sender);
    if (!decoded.ok()) return decoded;
    if (sender != exclude_from) ++unread.count;
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return unread;
}

core::Result<core::MessageId> RocksDbStore::LastMessageId(const core::Conversation& conversation) {
  core::Result<std::string> key = LastKeyWithPrefix(ConversationPrefix(conversation));
  if (!key.ok()) return key.status();
  return key->empty() ? core::MessageId{0} : core::MessageId{TrailingNumber(*key)};
}

core::Result<core::MessageId> RocksDbStore::LargestMessageId() {
  return GetNumber(std::string(kLargestMessageIdKey), 0);
}

core::Result<std::optional<core::GroupRecord>> RocksDbStore::GetGroup(const std::string& group_id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), GroupKey(group_id), &value);
  if (s.IsNotFound()) return std::optional<core::GroupRecord>();
  if (!s.ok()) return FromRocks(s);
  core::GroupRecord group;
  if (Status d = DecodeGroup(group_id, value, &group); !d.ok()) return d;
  return std::optional<core::GroupRecord>(std::move(group));
}


core::Result<std::vector<core::GroupMember>> RocksDbStore::ListMembers(const std::string& group_id) {
  std::vector<core::GroupMember> members;
  Status s = ScanPrefix(db_.get(), MemberPrefix(group_id), [&](std::string_view user, std::string_view value) {
    members.push_back({std::string(user), value.size() == 8 ? static_cast<std::int64_t>(ReadBigEndian64(value)) : 0});
    return true;
  });
  if (!s.ok()) return s;
  return members;
}

core::Result<std::size_t> RocksDbStore::CountMembers(const std::string& group_id, std::size_t cap) {
  std::size_t count = 0;
  Status s = ScanPrefix(db_.get(), MemberPrefix(group_id), [&](std::string_view, std::string_view) {
    return ++count <= cap;
  });
  if (!s.ok()) return s;
  return count;
}

core::Result<std::vector<std::string>> RocksDbStore::ListTookPart(const std::string& group_id) {
  return SuffixesUnder(db_.get(), TookPartPrefix(group_id));
}

Status RocksDbStore::CheckMember(const std::string& group_id, const std::string& user_id) {
  std::string value;
  return FromRocks(db_->Get(rocksdb::ReadOptions(), MemberKey(group_id, user_id), &value));
}

core::Result<std::optional<std::int64_t>> RocksDbStore::MemberSince(const std::string& group_id,
                                                                     const std::string& user_id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), MemberKey(group_id, user_id), &value);
  if (s.IsNotFound()) return std::optional<std::int64_t>();
  if (!s.ok()) return FromRocks(s);
  if (value.size() != 8) return Status::Error(ErrorCode::kCorruption, "bad member record");
  return std::optional<std::int64_t>(static_cast<std::int64_t>(ReadBigEndian64(value)));
}

Status RocksDbStore::CheckTookPart(const std::string& group_id, const std::string& user_id) {
  std::string value;
  return FromRocks(db_->Get(rocksdb::ReadOptions(), TookPartKey(group_id, user_id), &value));
}

core::Result<std::vector<std::string>> RocksDbStore::ListUserGroups(const std::string& user_id) {
  return SuffixesUnder(db_.get(), UserGroupPrefix(user_id));
}

core::Result<std::vector<core::GroupInvite>> RocksDbStore::ListInvites(const std::string& user_id) {
  return DecodeAllUnder<core::GroupInvite>(
      db_.get(), InvitePrefix(user_id), [&](std::string_view group, std::string_view value, core::GroupInvite* out) {
        return DecodeInvite(user_id, group, value, out);
      });
}

core::Result<std::uint64_t> RocksDbStore::LastQueueSeq(const std::string& user_id) {
  core::Result<std::string> key = LastKeyWithPrefix(QueuePrefix(user_id));
  if (!key.ok()) return key.status();
  return key->empty() ? std::uint64_t{0} : TrailingNumber(*key);
}

core::Result<core::QueuePage> RocksDbStore::ReadQueue(const std::string& user_id, std::uint64_t after,
                                                      std::size_t limit) {
  core::QueuePage page;
  core::Result<std::uint64_t> last = LastQueueSeq(user_id);
  if (!last.ok()) return last.status();
  page.last_seq = *last;
  // What an erased account left in the queue is never read again.
  core::Result<std::uint64_t> floor = GetNumber(QueueFloorKey(user_id), 0);
  if (!floor.ok()) return floor.status();
  if (*floor > after) {
    after = *floor;
    page.truncated = true;
  }
  BoundedIterator it(db_.get(), QueueKey(user_id, after) + '\0', PrefixEnd(QueuePrefix(user_id)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (page.entries.size() == limit) {
      page.more = true;
      break;
    }
    core::SequencedEntry entry;
    entry.seq = TrailingNumber(it.key());
    if (page.entries.empty() && entry.seq > after + 1) page.truncated = true;
    Status decoded = DecodeQueueEntry(it.value(), &entry.entry);
    if (!decoded.ok()) return decoded;
    page.entries.push_back(std::move(entry));
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return page;
}

core::Result<core::MessageId> RocksDbStore::GetReadPosition(const std::string& user_id,
                                                            const core::Conversation& conversation) {
  return GetNumber(ReadPositionKey(user_id, conversation), 0);
}

core::Result<std::vector<std::pair<core::Conversation, core::MessageId>>> RocksDbStore::ListReadPositions(
    const std::string& user_id) {
  std::string prefix = ReadPositionPrefix(user_id);
  BoundedIterator it(db_.get(), prefix, PrefixEnd(prefix));
  std::vector<std::pair<core::Conversation, core::MessageId>> positions;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view conversation = it.key().substr(prefix.size());  // <kind><conversation key>
    if (conversation.empty() || it.value().size() != 8) {
      return Status::Error(core::ErrorCode::kCorruption, "bad read position record");
    }
    positions.emplace_back(core::Conversation{static_cast<core::Conversation::Kind>(conversation[0]),
                                              std::string(conversation.substr(1))},
                           ReadBigEndian64(it.value()));
  }
  if (!it->status().ok()) return FromRocks(it->status());
  return positions;
}

core::Result<core::MentionPage> RocksDbStore::ReadMentions(const std::string& user_id, core::MessageId before,
                                                          std::size_t limit) {
  core::MentionPage page;
  Status s = NewestFirst(db_.get(), MentionPrefix(user_id), before, limit, &page.more,
                         [&](std::string_view key, std::string_view group) {
                           page.mentions.push_back({std::string(group), TrailingNumber(key)});
                           return Status::Ok();
                         });
  if (!s.ok()) return s;
  return page;
}

core::Result<core::SearchPage> RocksDbStore::Search(const core::SearchQuery& query) {
  return SearchPostings(db_.get(), query);
}

core::Result<std::uint64_t> RocksDbStore::RebuildSearchIndex() {
  std::uint64_t indexed = 0;
  if (Status s = storage::RebuildSearchIndex(db_.get(), sync_, &indexed); !s.ok()) return s;
  return indexed;
}

core::Result<core::InboxPage> RocksDbStore::ReadInbox(const std::string& user_id, core::MessageId before,
                                                      std::size_t limit) {
  std::string prefix = InboxPrefix(user_id);
  core::InboxPage page;
  Status s = NewestFirst(db_.get(), prefix, before, limit, &page.more, [&](std::string_view key, std::string_view) {
    std::string_view suffix = key.substr(prefix.size());
    if (suffix.size() < 10) return Status::Error(ErrorCode::kCorruption, "bad conversation list key");
    page.entries.push_back(InboxEntryOf(suffix));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return page;
}

namespace {

core::ContactState ContactStateOf(std::string_view value) {
  if (value.size() != 1 || value[0] < 1 || value[0] > 3) return core::ContactState::kNone;
  return static_cast<core::ContactState>(value[0]);
}

}  // namespace

core::Result<core::ContactState> RocksDbStore::GetContact(const std::string& user_id, const std::string& other) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ContactKey(user_id, other), &value);
  if (s.IsNotFound()) return core::ContactState::kNone;
  if (!s.ok()) return FromRocks(s);
  return ContactStateOf(value);
}

core::Result<std::vector<std::pair<std::string, core::ContactState>>> RocksDbStore::ListContacts(
    const std::string& user_id) {
  std::vector<std::pair<std::string, core::ContactState>> contacts;
  Status s = ScanPrefix(db_.get(), ContactPrefix(user_id), [&](std::string_view other, std::string_view value) {
    contacts.emplace_back(std::string(other), ContactStateOf(value));
    return true;
  });
  if (!s.ok()) return s;
  return contacts;
}

core::Result<std::vector<core::PushToken>> RocksDbStore::ListPushTokens(const std::string& user_id) {
  return DecodeAllUnder<core::PushToken>(db_.get(), PushTokenPrefix(user_id), DecodePushToken);
}

core::Result<std::optional<core::ResumeToken>> RocksDbStore::GetResumeToken(const std::string& user_id,
                                                                           const std::string& device_id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ResumeTokenKey(user_id, device_id), &value);
  if (s.IsNotFound()) return std::optional<core::ResumeToken>();
  if (!s.ok()) return FromRocks(s);
  core::ResumeToken token;
  if (Status decoded = DecodeResumeToken(device_id, value, &token); !decoded.ok()) return decoded;
  return std::optional<core::ResumeToken>(std::move(token));
}

core::Result<std::vector<core::ResumeToken>> RocksDbStore::ListResumeTokens(const std::string& user_id) {
  return DecodeAllUnder<core::ResumeToken>(db_.get(), ResumeTokenPrefix(user_id), DecodeResumeToken);
}

core::Result<std::vector<core::PushJob>> RocksDbStore::ListPushJobs() {
  return DecodeAllUnder<core::PushJob>(
      db_.get(), std::string(kPushJobPrefix), [](std::string_view id, std::string_view value, core::PushJob* out) {
        return id.size() == 8 ? DecodePushJob(ReadBigEndian64(id), value, out)
                              : Status::Error(ErrorCode::kCorruption, "bad push job key");
      });
}

core::Result<std::vector<core::WriteSet::LogOutboxRecord>> RocksDbStore::ListLogOutbox() {
  return DecodeAllUnder<core::WriteSet::LogOutboxRecord>(
      db_.get(), std::string(kLogOutboxPrefix),
      [](std::string_view id, std::string_view value, core::WriteSet::LogOutboxRecord* out) {
        if (id.size() != 8) return Status::Error(ErrorCode::kCorruption, "bad log outbox key");
        out->change_id = ReadBigEndian64(id);
        out->record.assign(value);
        return Status::Ok();
      });
}

core::Result<bool> RocksDbStore::IsMuted(const std::string& user_id, const core::Conversation& conversation) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), MuteKey(user_id, conversation), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s);
  return true;
}

core::Result<std::int64_t> RocksDbStore::GetLastActive(const std::string& user_id) {
  core::Result<std::uint64_t> at = GetNumber(LastActiveKey(user_id), 0);
  if (!at.ok()) return at.status();
  return static_cast<std::int64_t>(*at);
}

Status RocksDbStore::Checkpoint(const std::string& dir) {
  std::error_code ec;
  // RocksDB builds it in <dir>.tmp, deleting whatever that holds first: neither may exist.
  for (const std::string& path : {dir, dir + ".tmp"}) {
    std::filesystem::file_status status = std::filesystem::symlink_status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) continue;
    if (ec) return Status::Error(ErrorCode::kIoError, "cannot look at " + path + ": " + ec.message());
    return Status::Error(ErrorCode::kAlreadyExists, path + " exists already: a backup goes into a new folder");
  }
  // The broker thread replaces db_ when it recovers from a failed write: not while this uses it.
  std::shared_lock<std::shared_mutex> handle(handle_mutex_);
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return Status::Error(ErrorCode::kIoError, "cannot start a checkpoint: " + s.ToString());
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // No flush first: the live write-ahead log is copied instead, so taking a backup never makes the
  // writer wait for a memtable to reach the disk. Table files are hard links where the folder is on
  // the same file system, copies otherwise.
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/std::numeric_limits<std::uint64_t>::max());
  if (!s.ok()) return Status::Error(ErrorCode::kIoError, "cannot write the checkpoint in " + dir + ": " + s.ToString());
  // The files are as readable as the store's own (0644 under the usual umask): the folder is not.
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  return Status::Ok();
}

namespace {

// Deletes are written in batches of this many keys: a sweep never holds one huge batch in memory, and
// the writes of requests go between its batches.
constexpr std::size_t kSweepBatchKeys = 1000;

// Where the keys of one owner (a conversation, a queue) end: the owner is a key minus its 8-byte number.
std::string OwnerEnd(std::string_view key) { return PrefixEnd(key.substr(0, key.size() - 8)); }

}  // namespace

core::Result<core::RetentionSwept> RocksDbStore::ApplyRetention(const core::RetentionCutoffs& cutoffs) {
  std::shared_lock<std::shared_mutex> handle(handle_mutex_);  // see Checkpoint
  core::RetentionSwept swept;
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> Status {
    if (batch.Count() == 0) return Status::Ok();
    Status written = Write(&batch);
    batch.Clear();
    return written;
  };
  // Point deletes, not DeleteRange (unsafe with the row cache, see key_format.h). Each owner's keys are
  // in time order, so the expired ones are a run at its start: one Seek per owner finds the next owner.
  if (cutoffs.messages_before_ms > 0) {
    core::MessageId first_kept = core::MessageIdGenerator::FirstIdAt(cutoffs.messages_before_ms);
    // Mentions are keyed by user and then message id, so they expire the same way.
    for (std::string_view table : {kDirectMessagePrefix, kGroupMessagePrefix, kMentionTablePrefix}) {
      std::string table_prefix(table);
      bool messages = table != kMentionTablePrefix;
      BoundedIterator it(db_.get(), table_prefix, PrefixEnd(table_prefix));
      it->SeekToFirst();
      while (it->Valid()) {
        std::string next_owner = OwnerEnd(it.key());
        while (it->Valid() && it.key() < next_owner && TrailingNumber(it.key()) < first_kept) {
          batch.Delete(it->key());
          if (messages) {
            // Its postings go with it; a record that does not decode has none (the index skipped it).
            core::StoredMessage message;
            if (DecodeMessage(TrailingNumber(it.key()), it.value(), &message).ok()) DeletePostings(message, &batch);
            ++swept.messages;
          }
          it->Next();
        }
        if (batch.Count() >= kSweepBatchKeys) {
          if (Status s = flush(); !s.ok()) return s;
        }
        it->Seek(next_owner);
      }
      if (!it->status().ok()) return FromRocks(it->status());
    }
  }
  if (cutoffs.queue_before_ms > 0) {
    std::string table_prefix(kQueueTablePrefix);
    BoundedIterator it(db_.get(), table_prefix, PrefixEnd(table_prefix));
    it->SeekToFirst();
    std::string expired;  // the last expired key seen of this queue, deleted once a newer one exists
    while (it->Valid()) {
      std::string next_owner = OwnerEnd(it.key());
      expired.clear();
      for (; it->Valid() && it.key() < next_owner; it->Next()) {
        core::QueueEntry entry;
        // An entry that does not decode is left for ReadQueue to report: a sweep deletes only what it knows.
        if (!DecodeQueueEntry(it.value(), &entry).ok() || entry.created_at_ms >= cutoffs.queue_before_ms) break;
        if (!expired.empty()) {
          batch.Delete(expired);
          ++swept.queue_entries;
        }
        expired.assign(it.key());
      }
      // The newest entry stays, so the queue keeps its last seq; an expired one with a newer entry goes.
      if (!expired.empty() && it->Valid() && it.key() < next_owner) {
        batch.Delete(expired);
        ++swept.queue_entries;
      }
      if (batch.Count() >= kSweepBatchKeys) {
        if (Status s = flush(); !s.ok()) return s;
      }
      it->Seek(next_owner);
    }
    if (!it->status().ok()) return FromRocks(it->status());
  }
  if (Status s = flush(); !s.ok()) return s;
  return swept;
}

core::Result<core::StoreStatistics> RocksDbStore::Statistics() {
  std::shared_lock<std::shared_mutex> handle(handle_mutex_);  // see Checkpoint
  core::StoreStatistics stats;
  for (const Table& table : kTables) {
    std::string start(table.prefix);
    std::string limit = PrefixEnd(start);
    rocksdb::Range range(start, limit);
    std::uint64_t bytes = 0;
    rocksdb::SizeApproximationOptions options;
    options.include_memtables = true;
    options.include_files = true;
    rocksdb::Status s = db_->GetApproximateSizes(options, db_->DefaultColumnFamily(), &range, 1, &bytes);
    if (!s.ok()) return FromRocks(s);
    stats.tables.push_back({std::string(table.name), bytes});
  }
  auto count = [this](std::string_view prefix, std::uint64_t* out) {
    std::string start(prefix);
    BoundedIterator it(db_.get(), start, PrefixEnd(start));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++*out;
    return FromRocks(it->status());
  };
  if (Status s = count(kUserPrefix, &stats.users); !s.ok()) return s;
  if (Status s = count(kGroupPrefix, &stats.groups); !s.ok()) return s;
  if (Status s = count(kDirectMessagePrefix, &stats.messages); !s.ok()) return s;
  if (Status s = count(kGroupMessagePrefix, &stats.messages); !s.ok()) return s;
  return stats;
}

void RocksDbStore::Describe(core::MetricSamples& samples) {
  std::shared_lock<std::shared_mutex> handle(handle_mutex_);  // see Checkpoint
  std::uint64_t files = 0;
  std::uint64_t memtables = 0;
  db_->GetIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &files);
  db_->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &memtables);
  samples.Add("chat_store_bytes", "Size of the RocksDB store: live table files and write buffers.",
              core::MetricType::kGauge, static_cast<double>(files + memtables));
}

}  // namespace chat::storage
