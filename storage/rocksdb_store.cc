#include "storage/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/write_batch.h>

#include "storage/key_format.h"
#include "storage/record_codec.h"

namespace chat::storage {
namespace {

using core::ErrorCode;
using core::Status;

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return Status::Error(ErrorCode::kNotFound, "not found");
  if (s.IsCorruption()) return Status::Error(ErrorCode::kCorruption, s.ToString());
  return Status::Error(ErrorCode::kIoError, s.ToString());
}

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

core::Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& path, Durability durability) {
  rocksdb::Options options;
  options.create_if_missing = true;
  // Point lookups (users, idempotency keys) dominate reads: a bloom filter saves disk seeks on misses.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Every send asks "does the peer exist?" and "was this cmid seen?" on the broker thread. Hits come from
  // the row cache, misses (new cmids) stop at the memtable's bloom filter instead of a skip-list search.
  options.row_cache = rocksdb::NewLRUCache(32 << 20);
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.05;
  options.compression = rocksdb::kLZ4Compression;
  options.IncreaseParallelism(2);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) {
    // LZ4 may be missing from a RocksDB build; fall back rather than refuse to start.
    options.compression = rocksdb::kNoCompression;
    s = rocksdb::DB::Open(options, path, &raw);
  }
  if (!s.ok()) return Status::Error(ErrorCode::kIoError, "cannot open RocksDB at " + path + ": " + s.ToString());
  return std::unique_ptr<RocksDbStore>(new RocksDbStore(std::unique_ptr<rocksdb::DB>(raw), durability));
}

RocksDbStore::RocksDbStore(std::unique_ptr<rocksdb::DB> db, Durability durability)
    : db_(std::move(db)), sync_(durability == Durability::kPowerLoss) {}

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
  rocksdb::WriteOptions write;
  write.sync = sync_;
  return FromRocks(db_->Put(write, UserKey(user.user_id), EncodeUser(user)));
}

Status RocksDbStore::DeleteUser(const std::string& user_id) {
  if (Status exists = UserExists(user_id); !exists.ok()) return exists;
  rocksdb::WriteOptions write;
  write.sync = sync_;
  return FromRocks(db_->Delete(write, UserKey(user_id)));
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

core::Result<std::optional<core::MessageId>> RocksDbStore::FindByClientMessageId(const std::string& sender,
                                                                                 const std::string& cmid) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ClientMessageIdKey(sender, cmid), &value);
  if (s.IsNotFound()) return std::optional<core::MessageId>();
  if (!s.ok()) return FromRocks(s);
  if (value.size() != 8) return Status::Error(ErrorCode::kCorruption, "bad idempotency record");
  return std::optional<core::MessageId>(ReadBigEndian64(value));
}

Status RocksDbStore::AppendDirectMessage(const core::StoredMessage& message) {
  std::string id_bytes;
  AppendBigEndian64(message.id, &id_bytes);
  rocksdb::WriteBatch batch;
  std::string conversation = core::DirectConversationKey(message.from, message.to);
  batch.Put(MessageKey(conversation, message.id), EncodeMessage(message));
  if (!message.client_message_id.empty()) {
    batch.Put(ClientMessageIdKey(message.from, message.client_message_id), id_bytes);
  }
  batch.Put(AsSlice(kLargestMessageIdKey), id_bytes);
  rocksdb::WriteOptions write;
  write.sync = sync_;
  return FromRocks(db_->Write(write, &batch));
}

core::Result<core::MessagePage> RocksDbStore::ReadDirectConversation(const std::string& user_a,
                                                                     const std::string& user_b,
                                                                     const core::HistoryQuery& query) {
  std::string conversation = core::DirectConversationKey(user_a, user_b);
  // Bound the scan to this conversation and the query's window so RocksDB never reads past it.
  // Bounds are exclusive: a key just above `after`'s (suffix '\0') and exactly `before`'s.
  std::string lower = ConversationPrefix(conversation);
  if (query.after) lower = MessageKey(conversation, query.after) + '\0';
  std::string upper = query.before ? MessageKey(conversation, query.before) : ConversationEnd(conversation);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));

  core::MessagePage page;
  if (query.newest_first) {
    it->SeekToLast();
  } else {
    it->SeekToFirst();
  }
  while (it->Valid()) {
    if (page.messages.size() == query.limit) {
      page.more = true;
      break;
    }
    std::string_view key(it->key().data(), it->key().size());
    core::StoredMessage message;
    Status decoded = DecodeMessage(MessageIdFromKey(key), std::string_view(it->value().data(), it->value().size()),
                                   &message);
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

core::Result<core::MessageId> RocksDbStore::LargestMessageId() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), AsSlice(kLargestMessageIdKey), &value);
  if (s.IsNotFound()) return core::MessageId{0};
  if (!s.ok()) return FromRocks(s);
  if (value.size() != 8) return Status::Error(ErrorCode::kCorruption, "bad largest message id record");
  return core::MessageId{ReadBigEndian64(value)};
}

}  // namespace chat::storage
