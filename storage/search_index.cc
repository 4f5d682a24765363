#include "storage/search_index.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <memory>
#include <queue>

#include "core/text_terms.h"
#include "storage/key_format.h"
#include "storage/record_codec.h"
#include "storage/rocksdb_access.h"

namespace chat::storage {
namespace {

using core::ErrorCode;
using core::MessageId;
using core::Status;

constexpr std::string_view kPostingTable = "ix/";
constexpr std::size_t kRebuildBatchBytes = 4 << 20;

std::string TermPrefix(const core::Conversation& conversation, const std::string& term) {
  std::string key = PostingPrefix(conversation);
  key.append(term).push_back('\0');
  return key;
}

std::string WithId(std::string key, MessageId id) {
  AppendBigEndian64(id, &key);
  return key;
}

// The stored version of a message, or nullopt.
core::Result<std::optional<core::StoredMessage>> ReadMessage(rocksdb::DB* db, const core::Conversation& conversation,
                                                             MessageId id) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), MessageKey(conversation, id), &value);
  if (s.IsNotFound()) return std::optional<core::StoredMessage>();
  if (!s.ok()) return FromRocks(s);
  core::StoredMessage message;
  if (Status decoded = DecodeMessage(id, value, &message); !decoded.ok()) return decoded;
  return std::optional<core::StoredMessage>(std::move(message));
}

// Postings of one term in one scope, newest first: a backward scan of its key range.
class TermStream {
 public:
  TermStream(rocksdb::DB* db, const core::SearchScope& scope, const std::string& term)
      : it_(db, WithId(TermPrefix(scope.conversation, term), scope.after + 1),
            scope.before != 0 ? WithId(TermPrefix(scope.conversation, term), scope.before)
                              : PrefixEnd(TermPrefix(scope.conversation, term))) {
    it_->SeekToLast();
  }
  bool Valid() const { return it_->Valid(); }
  MessageId id() const { return TrailingNumber(it_.key()); }
  std::string_view sender() const { return it_.value(); }
  void Next() { it_->Prev(); }
  rocksdb::Status status() const { return it_->status(); }

 private:
  BoundedIterator it_;
};

struct Candidate {
  MessageId id = 0;
  std::string sender;
};

// The ids of one scope's messages with a term starting with `prefix`, newest first. The index is in
// term order, so they are all read and sorted; `*budget` counts down the entries read.
core::Result<std::vector<Candidate>> PrefixCandidates(rocksdb::DB* db, const core::SearchScope& scope,
                                                      const std::string& prefix, std::size_t* budget, bool* partial) {
  std::string lower = PostingPrefix(scope.conversation) + prefix;
  BoundedIterator it(db, lower, PrefixEnd(lower));
  std::vector<Candidate> found;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (*budget == 0) {
      *partial = true;
      break;
    }
    --*budget;
    MessageId id = TrailingNumber(it.key());
    if (id <= scope.after || (scope.before != 0 && id >= scope.before)) continue;
    found.push_back({id, std::string(it.value())});
  }
  if (!it->status().ok()) return FromRocks(it->status());
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) { return a.id > b.id; });
  found.erase(std::unique(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) { return a.id == b.id; }),
              found.end());
  return found;
}

// One scope's candidates, newest first: from the driving term's postings, or from a prefix's.
class ScopeStream {
 public:
  ScopeStream(std::size_t scope, std::unique_ptr<TermStream> term) : scope_(scope), term_(std::move(term)) {}
  ScopeStream(std::size_t scope, std::vector<Candidate> listed) : scope_(scope), listed_(std::move(listed)) {}
  std::size_t scope() const { return scope_; }
  bool Valid() const { return term_ ? term_->Valid() : next_ < listed_.size(); }
  MessageId id() const { return term_ ? term_->id() : listed_[next_].id; }
  std::string_view sender() const { return term_ ? term_->sender() : std::string_view(listed_[next_].sender); }
  void Next() { term_ ? term_->Next() : void(++next_); }
  Status status() const { return term_ ? FromRocks(term_->status()) : Status::Ok(); }

 private:
  std::size_t scope_;
  std::unique_ptr<TermStream> term_;
  std::vector<Candidate> listed_;
  std::size_t next_ = 0;
};

}  // namespace

std::string PostingPrefix(const core::Conversation& conversation) {
  std::string key(kPostingTable);
  key.push_back(static_cast<char>(conversation.kind));
  key.append(conversation.key).push_back('\0');
  return key;
}

std::string PostingKey(const core::Conversation& conversation, const std::string& term, MessageId id) {
  return WithId(TermPrefix(conversation, term), id);
}

void AddPostings(const core::StoredMessage& message, rocksdb::WriteBatch* batch) {
  if (message.deleted()) return;
  core::Conversation conversation = message.conversation();
  for (const std::string& term : core::IndexTerms(message.text)) {
    batch->Put(PostingKey(conversation, term, message.id), message.from);
  }
}

void DeletePostings(const core::StoredMessage& message, rocksdb::WriteBatch* batch) {
  if (message.deleted()) return;
  core::Conversation conversation = message.conversation();
  for (const std::string& term : core::IndexTerms(message.text)) batch->Delete(PostingKey(conversation, term, message.id));
}

Status SearchIndexer::Add(const core::WriteSet& writes, rocksdb::WriteBatch* batch) {
  for (const core::StoredMessage& message : writes.messages) {
    AddPostings(message, batch);
    batched_[MessageKey(message.conversation(), message.id)] = message;
  }
  for (const core::StoredMessage& changed : writes.changed_messages) {
    std::string key = MessageKey(changed.conversation(), changed.id);
    auto earlier = batched_.find(key);
    if (earlier != batched_.end()) {
      DeletePostings(earlier->second, batch);
    } else {
      core::Result<std::optional<core::StoredMessage>> stored = ReadMessage(db_, changed.conversation(), changed.id);
      if (!stored.ok()) return stored.status();
      if (*stored) DeletePostings(**stored, batch);
    }
    AddPostings(changed, batch);
    batched_[key] = changed;
  }
  return Status::Ok();
}

Status RebuildSearchIndex(rocksdb::DB* db, bool sync, std::uint64_t* messages_indexed) {
  rocksdb::WriteOptions write;
  write.sync = sync;
  rocksdb::WriteBatch batch;
  auto flush = [&](bool last) -> Status {
    if (batch.Count() == 0 || (!last && batch.GetDataSize() < kRebuildBatchBytes && batch.Count() < 1000)) {
      return Status::Ok();
    }
    rocksdb::Status s = db->Write(write, &batch);
    batch.Clear();
    return FromRocks(s);
  };
  auto scan = [&](std::string_view table, auto visit) -> Status {
    BoundedIterator it(db, std::string(table), PrefixEnd(table));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (Status s = visit(it); !s.ok()) return s;
      if (Status s = flush(false); !s.ok()) return s;
    }
    return FromRocks(it->status());
  };
  // Point deletes, as everywhere (DeleteRange is unsafe with the row cache).
  Status cleared = scan(kPostingTable, [&](BoundedIterator& it) {
    batch.Delete(it->key());
    return Status::Ok();
  });
  if (!cleared.ok()) return cleared;
  if (Status s = flush(true); !s.ok()) return s;
  std::uint64_t indexed = 0;
  for (std::string_view table : {kDirectMessagePrefix, kGroupMessagePrefix}) {
    Status s = scan(table, [&](BoundedIterator& it) {
      core::StoredMessage message;
      // A record that does not decode is left out of the index; reading it reports it.
      if (!DecodeMessage(TrailingNumber(it.key()), it.value(), &message).ok()) {
        return Status::Ok();
      }
      AddPostings(message, &batch);
      ++indexed;
      return Status::Ok();
    });
    if (!s.ok()) return s;
  }
  if (Status s = flush(true); !s.ok()) return s;
  if (messages_indexed != nullptr) *messages_indexed = indexed;
  return Status::Ok();
}

core::Result<core::SearchPage> SearchPostings(rocksdb::DB* db, const core::SearchQuery& query) {
  core::SearchPage page;
  std::size_t budget = query.max_postings;
  // The longest whole term drives (likely the rarest); a query of only a prefix is driven by it.
  std::string driving;
  for (const std::string& term : query.terms) {
    if (term.size() > driving.size()) driving = term;
  }
  std::vector<ScopeStream> streams;
  streams.reserve(query.scopes.size());
  for (std::size_t i = 0; i < query.scopes.size(); ++i) {
    if (!driving.empty()) {
      streams.emplace_back(i, std::make_unique<TermStream>(db, query.scopes[i], driving));
      continue;
    }
    core::Result<std::vector<Candidate>> listed =
        PrefixCandidates(db, query.scopes[i], query.prefix, &budget, &page.partial);
    if (!listed.ok()) return listed.status();
    streams.emplace_back(i, std::move(*listed));
  }
  auto newer = [&](std::size_t a, std::size_t b) { return streams[a].id() < streams[b].id(); };
  std::priority_queue<std::size_t, std::vector<std::size_t>, decltype(newer)> heads(newer);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (streams[i].Valid()) heads.push(i);
    if (Status s = streams[i].status(); !s.ok()) return s;
  }
  std::string value;
  while (!heads.empty()) {
    ScopeStream& stream = streams[heads.top()];
    heads.pop();
    MessageId id = stream.id();
    const core::Conversation& conversation = query.scopes[stream.scope()].conversation;
    bool match = query.from.empty() || stream.sender() == query.from;
    if (!driving.empty() && budget > 0) --budget;  // a prefix's entries were counted as they were listed
    for (const std::string& term : query.terms) {
      if (!match || term == driving) continue;
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), PostingKey(conversation, term, id), &value);
      if (!s.ok() && !s.IsNotFound()) return FromRocks(s);
      match = s.ok();
    }
    if (match && !driving.empty() && !query.prefix.empty()) {
      core::Result<std::optional<core::StoredMessage>> message = ReadMessage(db, conversation, id);
      if (!message.ok()) return message.status();
      match = false;
      if (*message && !(*message)->deleted()) {
        for (const std::string& term : core::IndexTerms((*message)->text)) {
          if (term.compare(0, query.prefix.size(), query.prefix) == 0) {
            match = true;
            break;
          }
        }
      }
    }
    if (match) page.hits.push_back({conversation, id});
    stream.Next();
    if (Status s = stream.status(); !s.ok()) return s;
    if (stream.Valid()) heads.push(static_cast<std::size_t>(&stream - streams.data()));
    if (page.hits.size() == query.limit || (!driving.empty() && budget == 0)) {
      page.more = !heads.empty();
      page.next_before = id;
      break;
    }
  }
  return page;
}

}  // namespace chat::storage
