// SearchIndex: the full-text index of messages, kept in the same RocksDB batch as the messages it
// indexes, on the commit stage's writer thread. Per conversation and term, the ids of the messages
// holding the term (core/text_terms.h says what a term is):
//   ix/<kind><conversation key>\0<term>\0<message id: 8 bytes big-endian>  ->  sender
// so a search of one term in one conversation is one backward range scan, newest first, and a message's
// other terms are point lookups. A message is indexed when stored; an edit swaps its old terms for the
// new ones and a deletion removes them (the old text is read back on the writer thread); the retention
// sweep removes those of the messages it deletes.
//
// Why in RocksDB and not an embedded search library (Debian has Xapian 1.4 and SQLite FTS5): both keep a
// second database beside the store, written by a commit of its own, so after a crash the index could
// hold a deleted text or miss an acknowledged message, and backup, restore and retention would each need
// a second path. Here the index is in the message's own atomic write; what a search needs beyond
// postings (newest-first order, filters by conversation, sender, time and membership) is key order.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/records.h"
#include "core/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}

namespace chat::storage {

// The prefix of a conversation's postings and one posting's key.
std::string PostingPrefix(const core::Conversation& conversation);
std::string PostingKey(const core::Conversation& conversation, const std::string& term, core::MessageId id);

// Adds the postings of `message` (none for a deleted one).
void AddPostings(const core::StoredMessage& message, rocksdb::WriteBatch* batch);
// Adds deletes of the postings `message` was indexed under.
void DeletePostings(const core::StoredMessage& message, rocksdb::WriteBatch* batch);

// Adds to a batch the index changes of its write sets: postings for new messages, and for each changed
// message its old postings swapped for its new ones (the old version read from the store, or from an
// earlier set of the same batch).
class SearchIndexer {
 public:
  explicit SearchIndexer(rocksdb::DB* db) : db_(db) {}
  // Call for each set of one batch, in order.
  core::Status Add(const core::WriteSet& writes, rocksdb::WriteBatch* batch);

 private:
  rocksdb::DB* db_;
  std::unordered_map<std::string, core::StoredMessage> batched_;  // by message key: this batch's version
};

// Deletes the whole index and writes it again from every stored message, in batches (chatctl reindex,
// and the first opening of a store made before the index existed). Nothing else may write meanwhile.
core::Status RebuildSearchIndex(rocksdb::DB* db, bool sync, std::uint64_t* messages_indexed = nullptr);

// A search (see core::Store::Search).
core::Result<core::SearchPage> SearchPostings(rocksdb::DB* db, const core::SearchQuery& query);

}  // namespace chat::storage
