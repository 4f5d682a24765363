// RocksDbStore: core::Store on RocksDB. The only code in the project that includes RocksDB.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>

#include "core/settings.h"
#include "core/store.h"

namespace rocksdb {
class DB;
class Env;
class FileSystem;
class WriteBatch;
}

namespace chat::storage {

using core::Durability;

class RocksDbStore final : public core::Store {
 public:
  // Opens (creating if needed) the database in `path`. Fails if another process has it open.
  static core::Result<std::unique_ptr<RocksDbStore>> Open(const std::string& path, Durability durability);
  // The same on `file_system` instead of the local one: a test's, which can lose power
  // (tests/storage/losing_power_file_system.h).
  static core::Result<std::unique_ptr<RocksDbStore>> Open(const std::string& path, Durability durability,
                                                          std::shared_ptr<rocksdb::FileSystem> file_system);
  // The same with a memory budget other than the defaults (config's storage section).
  static core::Result<std::unique_ptr<RocksDbStore>> Open(const std::string& path, Durability durability,
                                                          const core::StorageSettings& memory,
                                                          std::shared_ptr<rocksdb::FileSystem> file_system = nullptr);

  // The free space on the store's disk, in bytes.
  using FreeDiskBytes = std::function<std::uint64_t()>;
  // Makes every write fail (kIoError, saying why) while the store's disk has fewer than `bytes` free,
  // so RocksDB never meets a full disk (after a failed log write it refuses all writes until reopened,
  // and Debian's build may even abort). `free_bytes` measures it (default: statvfs of the folder). Call
  // before the store is shared with another thread.
  void RequireFreeDisk(std::uint64_t bytes, FreeDiskBytes free_bytes = {});
  ~RocksDbStore() override;

  core::Result<core::UserRecord> GetUser(const std::string& user_id) override;
  core::Status UserExists(const std::string& user_id) override;
  core::Status PutUser(const core::UserRecord& user) override;
  core::Status DeleteUser(const std::string& user_id) override;
  core::Result<std::vector<std::string>> ListUsers(const std::string& after, std::size_t limit) override;

  core::Status Checkpoint(const std::string& dir) override;
  core::Result<core::RetentionSwept> ApplyRetention(const core::RetentionCutoffs& cutoffs) override;
  core::Result<core::StoreStatistics> Statistics() override;
  void Describe(core::MetricSamples& samples) override;

  core::Status Apply(const core::WriteSet& writes) override;
  core::Status RecoverFromWriteFailure() override;
  core::Status ApplyAll(const std::vector<const core::WriteSet*>& sets) override;

  core::Result<std::optional<core::MessageId>> FindByClientMessageId(const std::string& sender,
                                                                     const std::string& client_message_id) override;
  core::Result<core::MessagePage> ReadConversation(const core::Conversation& conversation,
                                                   const core::HistoryQuery& query) override;
  core::Result<std::optional<core::StoredMessage>> GetMessage(const core::Conversation& conversation,
                                                              core::MessageId id) override;
  core::Result<core::UnreadCount> CountMessagesAfter(const core::Conversation& conversation, core::MessageId after,
                                                     const std::string& exclude_from, std::size_t cap,
                                                     std::size_t max_bytes) override;
  core::Result<core::MessageId> LastMessageId(const core::Conversation& conversation) override;
  core::Result<core::MessageId> LargestMessageId() override;

  core::Result<std::optional<core::GroupRecord>> GetGroup(const std::string& group_id) override;
  core::Result<std::vector<core::GroupMember>> ListMembers(const std::string& group_id) override;
  core::Result<std::size_t> CountMembers(const std::string& group_id, std::size_t cap) override;
  core::Result<std::vector<std::string>> ListTookPart(const std::string& group_id) override;
  core::Status CheckMember(const std::string& group_id, const std::string& user_id) override;
  core::Result<std::optional<std::int64_t>> MemberSince(const std::string& group_id,
                                                        const std::string& user_id) override;
  core::Status CheckTookPart(const std::string& group_id, const std::string& user_id) override;
  core::Result<std::vector<std::string>> ListUserGroups(const std::string& user_id) override;
  core::Result<std::vector<core::GroupInvite>> ListInvites(const std::string& user_id) override;

  core::Result<std::uint64_t> LastQueueSeq(const std::string& user_id) override;
  core::Result<core::QueuePage> ReadQueue(const std::string& user_id, std::uint64_t after,
                                          std::size_t limit) override;
  core::Result<core::MessageId> GetReadPosition(const std::string& user_id,
                                                const core::Conversation& conversation) override;
  core::Result<std::vector<std::pair<core::Conversation, core::MessageId>>> ListReadPositions(
      const std::string& user_id) override;
  core::Result<core::MentionPage> ReadMentions(const std::string& user_id, core::MessageId before,
                                              std::size_t limit) override;
  core::Result<core::SearchPage> Search(const core::SearchQuery& query) override;
  // Deletes the search index and writes it again from every message (chatctl reindex, offline); how
  // many messages it indexed.
  core::Result<std::uint64_t> RebuildSearchIndex();
  core::Result<core::InboxPage> ReadInbox(const std::string& user_id, core::MessageId before,
                                          std::size_t limit) override;

  core::Result<core::ContactState> GetContact(const std::string& user_id, const std::string& other) override;
  core::Result<std::vector<std::pair<std::string, core::ContactState>>> ListContacts(
      const std::string& user_id) override;
  core::Result<std::int64_t> GetLastActive(const std::string& user_id) override;

  core::Result<std::vector<core::PushToken>> ListPushTokens(const std::string& user_id) override;
  core::Result<std::optional<core::ResumeToken>> GetResumeToken(const std::string& user_id,
                                                                const std::string& device_id) override;
  core::Result<std::vector<core::ResumeToken>> ListResumeTokens(const std::string& user_id) override;
  core::Result<std::vector<core::PushJob>> ListPushJobs() override;
  core::Result<std::vector<core::WriteSet::LogOutboxRecord>> ListLogOutbox() override;
  core::Result<bool> IsMuted(const std::string& user_id, const core::Conversation& conversation) override;

 private:
  RocksDbStore(std::unique_ptr<rocksdb::DB> db, std::string path, Durability durability);
  // Records the layout version in a new store, or one made before it was recorded (layout 1).
  core::Status RecordFormatVersion();
  // Reads an 8-byte number stored under `key`; `fallback` when the key is absent.
  core::Result<std::uint64_t> GetNumber(const std::string& key, std::uint64_t fallback);
  // The key of the last entry with `prefix`, or "" when there is none.
  core::Result<std::string> LastKeyWithPrefix(const std::string& prefix);
  // Adds what `writes` stores to `batch` (reading the store for erased accounts' keys), all but its id
  // floor (ApplyAll writes the largest of a batch once).
  core::Status AddToBatch(const core::WriteSet& writes, rocksdb::WriteBatch* batch);
  core::Status Write(rocksdb::WriteBatch* batch);
  // kIoError when the disk is below the required free space.
  core::Status CheckFreeDisk() const;
  // Ok when a small file can be written and synced in the store's folder.
  core::Status ProbeWrite() const;

  std::unique_ptr<rocksdb::Env> env_;  // null: the default one; outlives db_, which uses it
  std::unique_ptr<rocksdb::DB> db_;
  // Held shared by a backup (Checkpoint, another thread) and exclusively while db_ is replaced.
  std::shared_mutex handle_mutex_;
  std::string path_;
  core::StorageSettings memory_;  // to open the database again with the same budget
  bool sync_;
  std::uint64_t min_free_disk_bytes_ = 0;
  FreeDiskBytes free_disk_bytes_;
  // A write reached RocksDB and failed: it refuses writes until reopened (RecoverFromWriteFailure).
  std::atomic<bool> write_failed_{false};
};

}  // namespace chat::storage
