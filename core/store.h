// Store: the persistence the chat core needs. storage/ implements it with RocksDB.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/records.h"
#include "core/status.h"

namespace chat::core {

// All methods are safe to call from one thread at a time (the broker thread, or one offline tool).
// Writes are durable per the store's configured durability mode once they return Ok.
class Store {
 public:
  virtual ~Store() = default;

  // Returns the user, or kNotFound.
  virtual Result<UserRecord> GetUser(const std::string& user_id) = 0;
  // Returns Ok when the user exists, kNotFound when not, kIoError when the store failed.
  virtual Status UserExists(const std::string& user_id) = 0;
  // Creates or replaces the user.
  virtual Status PutUser(const UserRecord& user) = 0;
  // Removes the user; kNotFound if absent. Messages the user sent or received stay in history.
  virtual Status DeleteUser(const std::string& user_id) = 0;
  // Up to `limit` user ids greater than `after`, in ascending order.
  virtual Result<std::vector<std::string>> ListUsers(const std::string& after, std::size_t limit) = 0;

  // The id stored earlier for (sender, client_message_id), or nullopt if there is none.
  virtual Result<std::optional<MessageId>> FindByClientMessageId(const std::string& sender,
                                                                 const std::string& client_message_id) = 0;
  // Stores the message, its idempotency entry (when it has a client message id) and the new largest
  // issued id in one atomic write: after a crash all or none of them are present.
  virtual Status AppendDirectMessage(const StoredMessage& message) = 0;
  // A page of the conversation between the two users (see HistoryQuery).
  virtual Result<MessagePage> ReadDirectConversation(const std::string& user_a, const std::string& user_b,
                                                     const HistoryQuery& query) = 0;
  // The largest message id ever stored (0 for an empty store): the id generator's floor at start-up.
  virtual Result<MessageId> LargestMessageId() = 0;
};

}  // namespace chat::core
