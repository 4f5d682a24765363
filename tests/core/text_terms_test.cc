#include "core/text_terms.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chat::core {
namespace {

using Terms = std::vector<std::string>;

TEST(TextTermsTest, WordsAreCaseFoldedAndLoseTheirAccents) {
  EXPECT_EQ(IndexTerms("Café au LAIT, naïve Zoë!"), (Terms{"cafe", "au", "lait", "naive", "zoe"}));
  EXPECT_EQ(IndexTerms("Straße ÅNGSTRÖM"), (Terms{"strasse", "angstrom"}));
  // Other scripts keep their letters and fold their case.
  EXPECT_EQ(IndexTerms("Привет МИР"), (Terms{"привет", "мир"}));
  // Each term once, in the order it first occurs; digits are words too.
  EXPECT_EQ(IndexTerms("the cat, THE dog 2024"), (Terms{"the", "cat", "dog", "2024"}));
}

TEST(TextTermsTest, KoreanChineseAndJapaneseRunsBecomeCharacterPairs) {
  EXPECT_EQ(IndexTerms("오늘회의는"), (Terms{"오늘", "늘회", "회의", "의는"}));
  EXPECT_EQ(IndexTerms("東京タワー"), (Terms{"東京", "京タ", "タワ", "ワー"}));  // ー is Japanese too
  EXPECT_EQ(IndexTerms("北京"), (Terms{"北京"}));
  // A lone character is a term of its own; a run ends at anything else.
  EXPECT_EQ(IndexTerms("나 hello 너무"), (Terms{"나", "hello", "너무"}));
  // Half-width katakana are the full-width ones.
  EXPECT_EQ(IndexTerms("ｶﾀ"), IndexTerms("カタ"));
}

TEST(TextTermsTest, AQueryMatchesItsLastWordAsAPrefixWhileItIsBeingTyped) {
  QueryTerms typing = SearchTerms("Meeting TOMOR");
  EXPECT_EQ(typing.exact, (Terms{"meeting"}));
  EXPECT_EQ(typing.prefix, "tomor");
  QueryTerms done = SearchTerms("meeting tomorrow ");
  EXPECT_EQ(done.exact, (Terms{"meeting", "tomorrow"}));
  EXPECT_EQ(done.prefix, "");
  // One letter is too little to be a prefix: it is looked up as a word.
  QueryTerms short_word = SearchTerms("plan a");
  EXPECT_EQ(short_word.exact, (Terms{"a", "plan"}));
  EXPECT_EQ(short_word.prefix, "");
  // A Korean word inside a query becomes its pairs; one character being typed is a prefix.
  EXPECT_EQ(SearchTerms("회의는").exact, (Terms{"의는", "회의"}));
  EXPECT_EQ(SearchTerms("회").prefix, "회");
  EXPECT_TRUE(SearchTerms("?!  ...").empty());
  EXPECT_EQ(SearchTerms("CAFÉ ").exact, (Terms{"cafe"}));
}

TEST(TextTermsTest, LongWordsAreCutAndLongTextsIndexTheirFirstTerms) {
  std::string long_word(100, 'a');
  Terms terms = IndexTerms(long_word);
  ASSERT_EQ(terms.size(), 1u);
  EXPECT_EQ(terms[0].size(), kMaxTermChars);
  // 3,000 different Hangul syllables without a space: 2,999 pairs, of which the first 500 are kept.
  std::string many;
  for (char32_t c = 0xAC00; c < 0xAC00 + 3000; ++c) {
    many += static_cast<char>(0xE0 | (c >> 12));
    many += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    many += static_cast<char>(0x80 | (c & 0x3F));
  }
  EXPECT_EQ(IndexTerms(many).size(), kMaxTermsPerText);
  EXPECT_EQ(IndexTerms(many)[0], "가각");
}

TEST(TextTermsTest, OnlyTheFirstCharactersOfAMessageAreIndexed) {
  std::string text(kMaxIndexedChars - 6, '.');
  text += " early";  // ends at character 4,000
  EXPECT_EQ(IndexTerms(text), (Terms{"early"}));
  EXPECT_EQ(IndexTerms(text + " late"), (Terms{"early"}));
  // Counted in characters, not bytes: é is two bytes.
  std::string accents;
  for (std::size_t i = 0; i < kMaxIndexedChars - 6; ++i) accents += "\xC3\xA9";
  EXPECT_EQ(IndexTerms(accents + " early late").size(), 2u);  // "eee…" cut to kMaxTermChars, and "early"
  EXPECT_EQ(IndexTerms(accents + " early late")[1], "early");
}

}  // namespace
}  // namespace chat::core
