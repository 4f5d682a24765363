// SearchService: finding messages. A user searches the text of what they may read: their 1:1 conversations (from their
// history floor) and their groups (from when they joined), or one of them; optionally only one
// sender's messages, or a time range; newest first, in pages. Matching is core/text_terms.h's; the
// index is the store's (Store::Search), and one request reads a bounded part of it. And a member lists
// the messages that mention them (core/mentions.h).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "core/service_context.h"

namespace chat::core {

// One search, as it runs off the broker thread (ReadWorker): the caller's scopes (the conversation the
// request named, else every conversation of theirs, each from when the caller may read it), the index,
// and the hits' messages, made into the reply. Reads the store only.
struct SearchRead {
  std::string user;
  MessageId history_floor = 0;
  std::optional<Conversation> named;  // the conversation the request named, if it named one
  SearchQuery query;                  // the words, sender and page size; the scopes are added here
  MessageId after = 0;                // the time range, as ids (0: unbounded)
  MessageId before = 0;
  std::size_t max_reply_bytes = 0;
  RequestTag tag;
  Result<std::string> operator()(Store& store) const;
};

// Not thread-safe; borrows `context`.
class SearchService {
 public:
  explicit SearchService(ServiceContext& context) : context_(context) {}

  // Request handlers (see ChatService's request table): search (checked here, read and answered by
  // the read worker: a search can take tens of milliseconds), and mentions (the messages that mention
  // the caller, in the groups they are a member of, newest first: one page of one list, read here).
  Status Search(const Request& r);
  Status Mentions(const Request& r);

 private:
  // Hands `read` to the read worker, whose answer goes to the caller's device; kBusy when the caller
  // has kMaxSearchesPerUser searches running or the worker is full.
  Status Start(const Request& r, SearchRead read);
  // A search of `user` has been answered.
  void Finished(const std::string& user);

  ServiceContext& context_;
  std::unordered_map<std::string, std::size_t> searching_;  // user -> searches running (none: absent)
};

}  // namespace chat::core
