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
// Index entries one request may read (SearchQuery::max_postings): tens of milliseconds of the read
// worker at most; a search that needs more answers with "more" and goes on when asked.
constexpr std::size_t kSearchPostingBudget = 20000;

// A user's searches waiting or running at once: more would let one user fill the read worker's queue.
constexpr std::size_t kMaxSearchesPerUser = 2;

// `conversation` as `user` may search it (the ids they may read), or nullopt when they may not.
Result<std::optional<SearchScope>> ScopeOf(Store& store, const std::string& user, MessageId history_floor,
                                           const Conversation& conversation) {
  SearchScope scope{conversation, 0, 0};
  if (!conversation.is_group()) {
    scope.after = history_floor;
    return std::optional<SearchScope>(scope);
  }
  // A member finds what was written in the group since they joined; a former member nothing.
  Result<std::optional<std::int64_t>> since = store.MemberSince(conversation.key, user);
  if (!since.ok()) return since.status();
  if (!*since) return std::optional<SearchScope>();
  // A join is kept to the millisecond, and a message sent just before it may carry the same one: the
  // join's millisecond is left out, so what was written before the join is never found.
  MessageId first = MessageIdGenerator::FirstIdAt(**since + 1);
  scope.after = first > 0 ? first - 1 : 0;
  return std::optional<SearchScope>(scope);
}

}  // namespace

Result<std::string> SearchRead::operator()(Store& store) const {
  // Where the caller may look: the conversation the request named, or all of theirs.
  std::vector<Conversation> conversations;
  if (named) {
    conversations.push_back(*named);
  } else {
    Result<InboxPage> inbox = store.ReadInbox(user, 0, kMaxSearchedConversations);
    if (!inbox.ok()) return inbox.status();
    for (InboxEntry& entry : inbox->entries) conversations.push_back(std::move(entry.conversation));
  }
  SearchQuery scoped = query;
  for (const Conversation& conversation : conversations) {
    Result<std::optional<SearchScope>> scope = ScopeOf(store, user, history_floor, conversation);
    if (!scope.ok()) return scope.status();
    if (!*scope) continue;
    (*scope)->after = std::max((*scope)->after, after);
    (*scope)->before = before;
    scoped.scopes.push_back(std::move(**scope));
  }
  Result<SearchPage> page = scoped.scopes.empty() ? Result<SearchPage>(SearchPage{}) : store.Search(scoped);
  if (!page.ok()) return page.status();

  ReplyBudget budget(max_reply_bytes);
  std::vector<std::string> hits;
  bool more = page->more;
  MessageId next_before = page->next_before;
  for (const SearchHit& hit : page->hits) {
    Result<std::optional<StoredMessage>> message = store.GetMessage(hit.conversation, hit.id);
    if (!message.ok()) return message.status();
    // Deleted by retention since the index was read, or by its sender (its postings went with the text).
    if (!*message || (*message)->deleted()) continue;
    std::string item = MessageJson(**message);
    if (!budget.Take(item.size())) {
      more = true;
      next_before = hit.id + 1;  // this hit is the next page's first
      break;
    }
    hits.push_back(std::move(item));
  }
  return SearchJson(tag, hits, more ? next_before : 0, page->partial);
}

Status SearchService::Search(const Request& r) {
  SearchRead read;
  read.user = std::string(r.caller.user_id);
  read.history_floor = r.caller.history_floor;
  read.max_reply_bytes = context_.limits.max_reply_bytes;
  read.tag = r.fields.tag();
  std::string text;
  if (Status s = r.fields.RequiredString("q", &text); !s.ok()) return s;
  std::optional<std::size_t> chars = CountUtf8CodePoints(text);
  if (!chars || *chars > kMaxQueryChars) {
    return Status::Error(ErrorCode::kTooLong, "q may have at most " + std::to_string(kMaxQueryChars) + " characters");
  }
  QueryTerms terms = SearchTerms(text);
  if (terms.empty()) return Status::Error(ErrorCode::kBadRequest, "q has no word to search for");
  SearchQuery& query = read.query;
  query.terms = std::move(terms.exact);
  query.prefix = std::move(terms.prefix);
  query.max_postings = kSearchPostingBudget;
  if (Status s = r.fields.OptionalString("from", &query.from); !s.ok()) return s;
  std::uint64_t limit = std::min(kDefaultSearchPage, context_.limits.max_search_page);
  if (Status s = r.fields.OptionalNumber("limit", 1, UINT32_MAX, &limit); !s.ok()) return s;
  query.limit = std::min<std::size_t>(limit, context_.limits.max_search_page);
  // A time range is a range of ids (an id starts with its time); `before` goes on from a previous page.
  std::uint64_t after_ts = 0, before_ts = 0;
  if (Status s = r.fields.OptionalNumber("after_ts", 0, INT64_MAX, &after_ts); !s.ok()) return s;
  if (Status s = r.fields.OptionalNumber("before_ts", 0, INT64_MAX, &before_ts); !s.ok()) return s;
  if (Status s = r.fields.OptionalId("before", &read.before); !s.ok()) return s;
  read.after = after_ts > 0 ? MessageIdGenerator::FirstIdAt(static_cast<std::int64_t>(after_ts)) : 0;
  if (read.after > 0) --read.after;
  if (before_ts > 0) {
    MessageId ceiling = MessageIdGenerator::FirstIdAt(static_cast<std::int64_t>(before_ts));
    read.before = read.before == 0 ? ceiling : std::min(read.before, ceiling);
  }
  if (r.fields.Has("group") || r.fields.Has("peer")) {
    Result<Target> target = context_.TargetOf(r.caller, r.fields, "peer");
    if (!target.ok()) return target.status();
    read.named = target->conversation;
  }
  return Start(r, std::move(read));
}

Status SearchService::Start(const Request& r, SearchRead read) {
  std::string user = read.user;
  std::size_t& running = searching_[user];
  if (running >= kMaxSearchesPerUser) {
    return Status::Error(ErrorCode::kBusy, "two searches of yours are still running; ask again when one has answered");
  }
  ++running;  // before Submit: a worker that reads at once delivers (and counts down) within it
  BackgroundRead job;
  job.read = [read = std::move(read)](Store& store) { return read(store); };
  job.deliver = [this, user, client = std::string(r.caller.client_id), tag = r.fields.tag()](
                    Result<std::string> made, Outbox& outbox) {
    Finished(user);
    Caller caller{user, client};
    if (made.ok()) return context_.Reply(caller, outbox, std::move(*made));
    context_.metrics.CountRejected(made.status().code());
    context_.Reply(caller, outbox, ErrorJson(RequestOpName(RequestOp::kSearch), tag, made.status()));
  };
  if (!context_.reads.Submit(std::move(job), r.outbox)) {
    Finished(user);
    return Status::Error(ErrorCode::kBusy, "the server is busy searching; try again shortly");
  }
  return Status::Ok();
}

void SearchService::Finished(const std::string& user) {
  auto it = searching_.find(user);
  if (it != searching_.end() && --it->second == 0) searching_.erase(it);
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
