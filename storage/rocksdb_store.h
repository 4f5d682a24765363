// RocksDbStore: core::Store on RocksDB. The only code in the project that includes RocksDB.
#pragma once

#include <memory>
#include <string>

#include "core/settings.h"
#include "core/store.h"

namespace rocksdb {
class DB;
}

namespace chat::storage {

using core::Durability;

class RocksDbStore final : public core::Store {
 public:
  // Opens (creating if needed) the database in `path`. Fails if another process has it open.
  static core::Result<std::unique_ptr<RocksDbStore>> Open(const std::string& path, Durability durability);
  ~RocksDbStore() override;

  core::Result<core::UserRecord> GetUser(const std::string& user_id) override;
  core::Status UserExists(const std::string& user_id) override;
  core::Status PutUser(const core::UserRecord& user) override;
  core::Status DeleteUser(const std::string& user_id) override;
  core::Result<std::vector<std::string>> ListUsers(const std::string& after, std::size_t limit) override;
  core::Result<std::optional<core::MessageId>> FindByClientMessageId(const std::string& sender,
                                                                     const std::string& client_message_id) override;
  core::Status AppendDirectMessage(const core::StoredMessage& message) override;
  core::Result<core::MessagePage> ReadDirectConversation(const std::string& user_a, const std::string& user_b,
                                                         const core::HistoryQuery& query) override;
  core::Result<core::MessageId> LargestMessageId() override;

 private:
  RocksDbStore(std::unique_ptr<rocksdb::DB> db, Durability durability);
  std::unique_ptr<rocksdb::DB> db_;
  bool sync_;
};

}  // namespace chat::storage
