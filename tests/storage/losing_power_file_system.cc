#include "tests/storage/losing_power_file_system.h"

#include <filesystem>
#include <system_error>

namespace chat::storage::testing {
namespace {

rocksdb::IOStatus PowerIsOff() { return rocksdb::IOStatus::IOError("the power is off"); }

// A log, table or manifest file: its writes are counted, and a sync makes them survive a power cut.
class LosingPowerFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  LosingPowerFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::string name, LosingPowerFileSystem& fs)
      : FSWritableFileOwnerWrapper(std::move(file)), name_(std::move(name)), fs_(fs) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
    if (!fs_.powered()) return PowerIsOff();
    rocksdb::IOStatus s = target()->Append(data, options, debug);
    if (s.ok()) fs_.Written(name_, data.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& /*verification*/,
                           rocksdb::IODebugContext* debug) override {
    return Append(data, options, debug);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
    if (!fs_.powered()) return PowerIsOff();
    rocksdb::IOStatus s = target()->PositionedAppend(data, offset, options, debug);
    if (s.ok()) fs_.Written(name_, data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& /*verification*/,
                                     rocksdb::IODebugContext* debug) override {
    return PositionedAppend(data, offset, options, debug);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
    if (!fs_.powered()) return PowerIsOff();
    rocksdb::IOStatus s = target()->Sync(options, debug);
    if (s.ok()) fs_.Synced(name_);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
    if (!fs_.powered()) return PowerIsOff();
    rocksdb::IOStatus s = target()->Fsync(options, debug);
    if (s.ok()) fs_.Synced(name_);
    return s;
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
    if (!fs_.powered()) return PowerIsOff();
    return target()->Flush(options, debug);
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) override {
    // Closing writes nothing new; what was not synced stays unsynced.
    return target()->Close(options, debug);
  }

 private:
  std::string name_;
  LosingPowerFileSystem& fs_;
};

}  // namespace

rocksdb::IOStatus LosingPowerFileSystem::Wrap(const std::string& name, rocksdb::IOStatus opened,
                                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                                              std::uint64_t existing) {
  if (!opened.ok()) return opened;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    files_[name] = Lengths{existing, existing};
  }
  *result = std::make_unique<LosingPowerFile>(std::move(*result), name, *this);
  return opened;
}

rocksdb::IOStatus LosingPowerFileSystem::NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                                         std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                         rocksdb::IODebugContext* debug) {
  if (!powered()) return PowerIsOff();
  return Wrap(name, target()->NewWritableFile(name, options, result, debug), result, 0);
}

rocksdb::IOStatus LosingPowerFileSystem::ReopenWritableFile(const std::string& name,
                                                            const rocksdb::FileOptions& options,
                                                            std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                            rocksdb::IODebugContext* debug) {
  if (!powered()) return PowerIsOff();
  std::error_code ec;
  std::uintmax_t size = std::filesystem::file_size(name, ec);
  return Wrap(name, target()->ReopenWritableFile(name, options, result, debug), result, ec ? 0 : size);
}

rocksdb::IOStatus LosingPowerFileSystem::RenameFile(const std::string& from, const std::string& to,
                                                    const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) {
  if (!powered()) return PowerIsOff();
  rocksdb::IOStatus s = target()->RenameFile(from, to, options, debug);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = files_.find(from);
    if (it != files_.end()) {
      files_[to] = it->second;
      files_.erase(from);
    } else {
      files_.erase(to);
    }
  }
  return s;
}

rocksdb::IOStatus LosingPowerFileSystem::DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                                                    rocksdb::IODebugContext* debug) {
  if (!powered()) return PowerIsOff();
  rocksdb::IOStatus s = target()->DeleteFile(name, options, debug);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    files_.erase(name);
  }
  return s;
}

void LosingPowerFileSystem::Written(const std::string& name, std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  files_[name].written += bytes;
}

void LosingPowerFileSystem::Synced(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  Lengths& lengths = files_[name];
  lengths.synced = lengths.written;
}

std::uint64_t LosingPowerFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::uint64_t dropped = 0;
  for (auto& [name, lengths] : files_) {
    std::error_code ec;
    std::uintmax_t size = std::filesystem::file_size(name, ec);
    if (ec || size <= lengths.synced) continue;
    dropped += size - lengths.synced;
    std::filesystem::resize_file(name, lengths.synced, ec);
    lengths.written = lengths.synced;
  }
  return dropped;
}

}  // namespace chat::storage::testing
