// LosingPowerFileSystem: a RocksDB file system over the local one that can lose power. Writes go through
// to the disk at once, and each file remembers how much of it was synced; PowerOff() makes every later
// write, creation, rename and deletion fail (the machine is off), and DropUnsyncedData() then cuts every
// file written through it back to what was synced, as a power cut leaves it: what is only in the page
// cache is gone. (Debian's RocksDB ships FaultInjectionTestFS in its library but not its header.)
//
// Not modelled: a file whose directory entry was never synced (the directory fsync) disappearing.
// RocksDB syncs the directory after creating its log and table files, so this is the smaller gap.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace chat::storage::testing {

class LosingPowerFileSystem : public rocksdb::FileSystemWrapper {
 public:
  LosingPowerFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  static const char* kClassName() { return "LosingPowerFileSystem"; }
  const char* Name() const override { return kClassName(); }

  void PowerOff() { powered_ = false; }
  void PowerOn() { powered_ = true; }
  // Cuts every file written through this file system back to its synced length. Call while off, after
  // the database that used it is gone. Returns how many bytes were dropped.
  std::uint64_t DropUnsyncedData();

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* debug) override;

  // Called by the files: `bytes` more were written to `name`; everything written to it is synced.
  void Written(const std::string& name, std::uint64_t bytes);
  void Synced(const std::string& name);
  bool powered() const { return powered_; }

 private:
  struct Lengths {
    std::uint64_t written = 0;
    std::uint64_t synced = 0;
  };
  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* result, std::uint64_t existing);

  std::atomic<bool> powered_{true};
  std::mutex mutex_;
  std::map<std::string, Lengths> files_;
};

}  // namespace chat::storage::testing
