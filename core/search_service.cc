#include "core/search_service.h"

#include <algorithm>
#include <unordered_map>

#include "core/protocol_format.h"
#include "core/text_terms.h"
#include "core/utf8.h"

namespace chat::core {
namespace {

constexpr std::size_t kDefaultSearchPage = 20;
constexpr std::size_t kMaxQueryChars = 256;
// The conversations one search looks through when the request names none (the newest ones).
constexpr std::size_t kMaxSearchedConversations = 5000;
// Index entries one request may read (SearchQuery::max_postings): a few milliseconds of the broker
// thread at most; a search that needs more answers with "more" and goes on when asked.
constexpr std::size_t kSearchPostingBudget = 20000;

}  // namespace

Result<std::optional<SearchScope>> SearchService::ScopeOf(const Caller& caller, const Conversation& conversation) {
  SearchScope scope{conversation, 0, 0};
  if (!conversation.is_group()) {
    scope.after = caller.history_floor;
    return std::optional<SearchScope>(scope);
  }
  // A member finds what was written in the group since they joined; a former member nothing.
  Result<std::optional<std::int64_t>> since = context_.store.MemberSince(conversation.key, std::string(caller.user_id));
  if (!since.ok()) return since.status();
  if (!*since) return std::optional<SearchScope>();
  MessageId first = MessageIdGenerator::FirstIdAt(**since);
  scope.after = first > 0 ? first - 1 : 0;
  return std::optional<SearchScope>(scope);
}

Result<std::vector<SearchScope>> SearchService::ScopesFor(const Request& r) {
  std::vector<SearchScope> scopes;
  if (r.fields.Has("group") || r.fields.Has("peer")) {
    Result<Target> target = context_.TargetOf(r.caller, r.fields, "peer");
    if (!target.ok()) return target.status();
    Result<std::optional<SearchScope>> scope = ScopeOf(r.caller, target->conversation);
    if (!scope.ok()) return scope.status();
    if (*scope) scopes.push_back(**scope);
    return scopes;
  }
  Result<InboxPage> inbox = context_.store.ReadInbox(std::string(r.caller.user_id), 0, kMaxSearchedConversations);
  if (!inbox.ok()) return inbox.status();
  scopes.reserve(inbox->entries.size());
  for (const InboxEntry& entry : inbox->entries) {
    Result<std::optional<SearchScope>> scope = ScopeOf(r.caller, entry.conversation);
    if (!scope.ok()) return scope.status();
    if (*scope) scopes.push_back(**scope);
  }
  return scopes;
}

Status SearchService::Search(const Request& r) {
  std::string text;
  if (Status s = r.fields.RequiredString("q", &text); !s.ok()) return s;
  std::optional<std::size_t> chars = CountUtf8CodePoints(text);
  if (!chars || *chars > kMaxQueryChars) {
    return Status::Error(ErrorCode::kTooLong, "q may have at most " + std::to_string(kMaxQueryChars) + " characters");
  }
  QueryTerms terms = SearchTerms(text);
  if (terms.empty()) return Status::Error(ErrorCode::kBadRequest, "q has no word to search for");
  SearchQuery query;
  query.terms = std::move(terms.exact);
  query.prefix = std::move(terms.prefix);
  query.max_postings = kSearchPostingBudget;
  if (Status s = r.fields.OptionalString("from", &query.from); !s.ok()) return s;
  std::uint64_t limit = std::min(kDefaultSearchPage, context_.limits.max_search_page);
  if (Status s = r.fields.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  query.limit = std::min<std::size_t>(limit, context_.limits.max_search_page);
  // A time range is a range of ids (an id starts with its time); `before` goes on from a previous page.
  std::uint64_t after_ts = 0, before_ts = 0;
  MessageId before = 0;
  if (Status s = r.fields.OptionalNumber("after_ts", 0, INT64_MAX, &after_ts); !s.ok()) return s;
  if (Status s = r.fields.OptionalNumber("before_ts", 0, INT64_MAX, &before_ts); !s.ok()) return s;
  if (Status s = r.fields.OptionalId("before", &before); !s.ok()) return s;
  MessageId floor = after_ts > 0 ? MessageIdGenerator::FirstIdAt(static_cast<std::int64_t>(after_ts)) : 0;
  if (floor > 0) --floor;
  if (before_ts > 0) {
    MessageId ceiling = MessageIdGenerator::FirstIdAt(static_cast<std::int64_t>(before_ts));
    before = before == 0 ? ceiling : std::min(before, ceiling);
  }
  Result<std::vector<SearchScope>> scopes = ScopesFor(r);
  if (!scopes.ok()) return scopes.status();
  for (SearchScope& scope : *scopes) {
    scope.after = std::max(scope.after, floor);
    scope.before = before;
  }
  query.scopes = std::move(*scopes);
  Result<SearchPage> page = query.scopes.empty() ? Result<SearchPage>(SearchPage{}) : context_.store.Search(query);
  if (!page.ok()) return page.status();

  ReplyBudget budget(context_.limits.max_reply_bytes);
  std::vector<std::string> hits;
  bool more = page->more;
  MessageId next_before = page->next_before;
  for (const SearchHit& hit : page->hits) {
    Result<std::optional<StoredMessage>> message = context_.store.GetMessage(hit.conversation, hit.id);
    if (!message.ok()) return message.status();
    if (!*message) continue;  // deleted by retention since the index was read
    std::string item = MessageJson(**message);
    if (!budget.Take(item.size())) {
      more = true;
      next_before = hit.id + 1;  // this hit is the next page's first
      break;
    }
    hits.push_back(std::move(item));
  }
  r.Reply(SearchJson(r.fields.tag(), hits, more ? next_before : 0, page->partial));
  return Status::Ok();
}

Status SearchService::Mentions(const Request& r) {
  MessageId before = 0;
  std::uint64_t limit = std::min(kDefaultSearchPage, context_.limits.max_search_page);
  if (Status s = r.fields.OptionalId("before", &before); !s.ok()) return s;
  if (Status s = r.fields.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  limit = std::min<std::uint64_t>(limit, context_.limits.max_search_page);
  std::string me(r.caller.user_id);
  Result<MentionPage> page = context_.store.ReadMentions(me, before, limit);
  if (!page.ok()) return page.status();
  ReplyBudget budget(context_.limits.max_reply_bytes);
  std::vector<std::string> messages;
  std::unordered_map<std::string, bool> member_of;
  bool more = page->more;
  MessageId next_before = 0;
  for (const MentionRef& mention : page->mentions) {
    // A former member reads nothing of the group, their mentions included.
    auto [known, fresh] = member_of.try_emplace(mention.group_id, false);
    if (fresh) known->second = context_.store.CheckMember(mention.group_id, me).ok();
    Result<std::optional<StoredMessage>> message =
        known->second ? context_.store.GetMessage(Conversation::Group(mention.group_id), mention.message_id)
                      : Result<std::optional<StoredMessage>>(std::optional<StoredMessage>());
    if (!message.ok()) return message.status();
    if (*message) {
      std::string item = MessageJson(**message);
      if (!budget.Take(item.size())) {
        more = true;
        break;
      }
      messages.push_back(std::move(item));
    }
    next_before = mention.message_id;
  }
  r.Reply(MentionsJson(r.fields.tag(), messages, more ? next_before : 0));
  return Status::Ok();
}

}  // namespace chat::core
