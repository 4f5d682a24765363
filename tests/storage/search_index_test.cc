// The search index the store keeps (storage/search_index.h): written with messages, swapped by edits,
// emptied by deletions and retention, rebuilt; searches by term, prefix, sender, scope and in pages,
// bounded in what they read.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/message_id.h"
#include "storage/rocksdb_store.h"
#include "tests/core/temp_dir.h"

namespace chat::storage {
namespace {

using core::Conversation;
using core::MessageId;
using core::SearchQuery;
using core::StoredMessage;

class SearchIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = RocksDbStore::Open(dir_.path(), core::Durability::kProcessCrash);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }

  // Ids as the server makes them: their time in their high bits.
  static constexpr std::int64_t kStart = 1790000000000;  // 2026
  MessageId IdAt(std::int64_t ms) { return core::MessageIdGenerator::FirstIdAt(kStart + ms) + (++sequence_); }

  StoredMessage Put(MessageId id, const std::string& from, const std::string& to, const std::string& group,
                    const std::string& text) {
    StoredMessage message;
    message.id = id;
    message.from = from;
    message.to = group.empty() ? to : "";
    message.group_id = group;
    message.text = text;
    core::WriteSet writes;
    writes.messages.push_back(message);
    EXPECT_TRUE(store_->Apply(writes).ok());
    return message;
  }

  // The texts of the hits, newest first.
  std::vector<std::string> Find(SearchQuery query, core::SearchPage* page_out = nullptr) {
    auto page = store_->Search(query);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> texts;
    if (!page.ok()) return texts;
    for (const core::SearchHit& hit : page->hits) {
      auto message = store_->GetMessage(hit.conversation, hit.id);
      texts.push_back(message.ok() && *message ? (*message)->text : "(gone)");
    }
    if (page_out != nullptr) *page_out = *page;
    return texts;
  }

  SearchQuery In(std::vector<Conversation> conversations, std::vector<std::string> terms, std::string prefix = "") {
    SearchQuery query;
    for (Conversation& c : conversations) query.scopes.push_back({std::move(c), 0, 0});
    query.terms = std::move(terms);
    query.prefix = std::move(prefix);
    return query;
  }

  testing::TempDir dir_;
  std::unique_ptr<RocksDbStore> store_;
  int sequence_ = 0;
  const Conversation ab_ = Conversation::Direct("ann", "bob");
  const Conversation ac_ = Conversation::Direct("ann", "cat");
};

using Texts = std::vector<std::string>;

TEST_F(SearchIndexTest, FindsEveryTermNewestFirstAcrossTheScopes) {
  Put(IdAt(1000), "ann", "bob", "", "lunch at noon");
  Put(IdAt(2000), "bob", "ann", "", "no lunch today");
  Put(IdAt(3000), "cat", "ann", "", "Lunch tomorrow at noon?");
  Put(IdAt(4000), "ann", "cat", "", "dinner");
  EXPECT_EQ(Find(In({ab_, ac_}, {"lunch"})), (Texts{"Lunch tomorrow at noon?", "no lunch today", "lunch at noon"}));
  EXPECT_EQ(Find(In({ab_, ac_}, {"lunch", "noon"})), (Texts{"Lunch tomorrow at noon?", "lunch at noon"}));
  EXPECT_EQ(Find(In({ab_}, {"lunch", "noon"})), (Texts{"lunch at noon"}));
  EXPECT_EQ(Find(In({ab_, ac_}, {"breakfast"})), Texts{});
  // A prefix alone, and with a whole term.
  EXPECT_EQ(Find(In({ab_, ac_}, {}, "tod")), (Texts{"no lunch today"}));
  EXPECT_EQ(Find(In({ab_, ac_}, {"lunch"}, "tom")), (Texts{"Lunch tomorrow at noon?"}));
  EXPECT_EQ(Find(In({ab_, ac_}, {}, "din")), (Texts{"dinner"}));
  // One sender's.
  SearchQuery from_bob = In({ab_, ac_}, {"lunch"});
  from_bob.from = "bob";
  EXPECT_EQ(Find(from_bob), (Texts{"no lunch today"}));
}

TEST_F(SearchIndexTest, ScopesBoundTheIdsFound) {
  MessageId early = IdAt(1000);
  Put(early, "ann", "bob", "", "plan one");
  MessageId middle = IdAt(2000);
  Put(middle, "ann", "bob", "", "plan two");
  Put(IdAt(3000), "ann", "bob", "", "plan three");
  SearchQuery query = In({ab_}, {"plan"});
  query.scopes[0].after = early;  // what the caller may read starts after it
  EXPECT_EQ(Find(query), (Texts{"plan three", "plan two"}));
  query.scopes[0].before = middle + 1;
  EXPECT_EQ(Find(query), (Texts{"plan two"}));
  query.prefix = "tw";
  query.terms.clear();
  EXPECT_EQ(Find(query), (Texts{"plan two"}));
}

TEST_F(SearchIndexTest, PagesGoOnBelowTheLastHitAndTheBudgetStopsAPageEarly) {
  for (int i = 0; i < 10; ++i) Put(IdAt(1000 + i), "ann", "bob", "", "note " + std::to_string(i));
  SearchQuery query = In({ab_}, {"note"});
  query.limit = 4;
  core::SearchPage page;
  EXPECT_EQ(Find(query, &page), (Texts{"note 9", "note 8", "note 7", "note 6"}));
  ASSERT_TRUE(page.more);
  query.scopes[0].before = page.next_before;
  EXPECT_EQ(Find(query, &page), (Texts{"note 5", "note 4", "note 3", "note 2"}));
  query.scopes[0].before = page.next_before;
  EXPECT_EQ(Find(query, &page), (Texts{"note 1", "note 0"}));
  EXPECT_FALSE(page.more);

  // Reading at most 3 index entries: 3 candidates examined, then "more" from where it stopped.
  SearchQuery bounded = In({ab_}, {"note", "7"});
  bounded.max_postings = 3;
  EXPECT_EQ(Find(bounded, &page), (Texts{"note 7"}));
  EXPECT_TRUE(page.more);
  bounded.scopes[0].before = page.next_before;
  EXPECT_EQ(Find(bounded, &page), Texts{});
  EXPECT_TRUE(page.more);
}

TEST_F(SearchIndexTest, EditsSwapTermsAndDeletionsAndRetentionRemoveThem) {
  StoredMessage message = Put(IdAt(1000), "ann", "bob", "", "secret plans");
  message.text = "public notes";
  message.edited_at_ms = 2;
  core::WriteSet edit;
  edit.changed_messages.push_back(message);
  ASSERT_TRUE(store_->Apply(edit).ok());
  EXPECT_EQ(Find(In({ab_}, {"secret"})), Texts{});
  EXPECT_EQ(Find(In({ab_}, {}, "pla")), Texts{});
  EXPECT_EQ(Find(In({ab_}, {"notes"})), (Texts{"public notes"}));

  message.text.clear();
  message.deleted_by = "ann";
  core::WriteSet deletion;
  deletion.changed_messages.push_back(message);
  ASSERT_TRUE(store_->Apply(deletion).ok());
  EXPECT_EQ(Find(In({ab_}, {"notes"})), Texts{});
  EXPECT_EQ(Find(In({ab_}, {}, "pub")), Texts{});

  // Two edits in one batch (one group commit): the second swaps out the first's terms.
  StoredMessage other = Put(IdAt(1500), "ann", "bob", "", "first version");
  core::WriteSet one, two;
  other.text = "second version";
  one.changed_messages.push_back(other);
  other.text = "third version";
  two.changed_messages.push_back(other);
  ASSERT_TRUE(store_->ApplyAll({&one, &two}).ok());
  EXPECT_EQ(Find(In({ab_}, {"version"})), (Texts{"third version"}));
  EXPECT_EQ(Find(In({ab_}, {"second"})), Texts{});
  EXPECT_EQ(Find(In({ab_}, {"first"})), Texts{});

  Put(IdAt(5000), "ann", "bob", "", "old news");
  Put(IdAt(9000), "ann", "bob", "", "new news");
  auto swept = store_->ApplyRetention({kStart + 6000, 0});
  ASSERT_TRUE(swept.ok());
  EXPECT_EQ(Find(In({ab_}, {"news"})), (Texts{"new news"}));
  EXPECT_EQ(Find(In({ab_}, {"old"})), Texts{});
}

TEST_F(SearchIndexTest, ARebuildWritesTheSameIndexAgain) {
  Put(IdAt(1000), "ann", "bob", "", "alpha beta");
  Put(IdAt(2000), "ann", "", "42", "beta gamma");
  const Conversation group = Conversation::Group("42");
  auto indexed = store_->RebuildSearchIndex();
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(*indexed, 2u);
  EXPECT_EQ(Find(In({ab_, group}, {"beta"})), (Texts{"beta gamma", "alpha beta"}));
  EXPECT_EQ(Find(In({group}, {}, "gam")), (Texts{"beta gamma"}));
}

}  // namespace
}  // namespace chat::storage
