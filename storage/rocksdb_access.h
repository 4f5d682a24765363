// What the store's files share about reading RocksDB: its statuses as ours, and bounded iterators.
#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace chat::storage {

inline core::Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return core::Status::Ok();
  if (s.IsNotFound()) return core::Status::Error(core::ErrorCode::kNotFound, "not found");
  if (s.IsCorruption()) return core::Status::Error(core::ErrorCode::kCorruption, s.ToString());
  return core::Status::Error(core::ErrorCode::kIoError, s.ToString());
}

// An iterator over the keys in [lower, upper). RocksDB never reads past the bounds, so a scan of one
// conversation or queue touches nothing else. Owns its bounds (the read options point into them).
class BoundedIterator {
 public:
  BoundedIterator(rocksdb::DB* db, std::string lower, std::string upper)
      : lower_(std::move(lower)), upper_(std::move(upper)), lower_slice_(lower_), upper_slice_(upper_) {
    rocksdb::ReadOptions read;
    read.iterate_lower_bound = &lower_slice_;
    read.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(read));
  }
  rocksdb::Iterator* operator->() { return it_.get(); }
  const rocksdb::Iterator* operator->() const { return it_.get(); }
  std::string_view key() const { return {it_->key().data(), it_->key().size()}; }
  std::string_view value() const { return {it_->value().data(), it_->value().size()}; }

 private:
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace chat::storage
