// SearchService: finding messages. A user searches the text of what they may read: their 1:1 conversations (from their
// history floor) and their groups (from when they joined), or one of them; optionally only one
// sender's messages, or a time range; newest first, in pages. Matching is core/text_terms.h's; the
// index is the store's (Store::Search), and one request reads a bounded part of it. And a member lists
// the messages that mention them (core/mentions.h).
#pragma once

#include "core/service_context.h"

namespace chat::core {

// Not thread-safe; borrows `context`.
class SearchService {
 public:
  explicit SearchService(ServiceContext& context) : context_(context) {}

  // Request handlers (see ChatService's request table): search, and mentions (the messages that
  // mention the caller, in the groups they are a member of, newest first).
  Status Search(const Request& r);
  Status Mentions(const Request& r);

 private:
  // Where the caller may look: the conversation the request names, or all of theirs.
  Result<std::vector<SearchScope>> ScopesFor(const Request& r);
  // `conversation` as the caller may search it (the ids they may read), or nullopt when they may not.
  Result<std::optional<SearchScope>> ScopeOf(const Caller& caller, const Conversation& conversation);

  ServiceContext& context_;
};

}  // namespace chat::core
