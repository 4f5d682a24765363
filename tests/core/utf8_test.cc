#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace chat::core {
namespace {

TEST(Utf8Test, CountsCodePointsNotBytes) {
  EXPECT_EQ(CountUtf8CodePoints(""), 0u);
  EXPECT_EQ(CountUtf8CodePoints("hello"), 5u);
  EXPECT_EQ(CountUtf8CodePoints("h\xC3\xA9llo"), 5u);                 // é
  EXPECT_EQ(CountUtf8CodePoints("\xE4\xBD\xA0\xE5\xA5\xBD"), 2u);     // 你好
  EXPECT_EQ(CountUtf8CodePoints("\xF0\x9F\x98\x80"), 1u);             // U+1F600
  EXPECT_EQ(CountUtf8CodePoints(std::string(1000, 'a') + "\xC3\xA9"), 1001u);
}

TEST(Utf8Test, RejectsMalformedSequences) {
  EXPECT_FALSE(CountUtf8CodePoints("\xFF"));
  EXPECT_FALSE(CountUtf8CodePoints("\x80"));                 // lone continuation
  EXPECT_FALSE(CountUtf8CodePoints("\xC3"));                 // truncated
  EXPECT_FALSE(CountUtf8CodePoints("abcdefgh\xC3"));         // truncated after a fast ASCII run
  EXPECT_FALSE(CountUtf8CodePoints("\xC0\xAF"));             // overlong '/'
  EXPECT_FALSE(CountUtf8CodePoints("\xE0\x80\xAF"));         // overlong 3-byte
  EXPECT_FALSE(CountUtf8CodePoints("\xED\xA0\x80"));         // surrogate U+D800
  EXPECT_FALSE(CountUtf8CodePoints("\xF4\x90\x80\x80"));     // above U+10FFFF
  EXPECT_FALSE(CountUtf8CodePoints("\xE4\xBD"));             // truncated 3-byte
  EXPECT_FALSE(CountUtf8CodePoints("\xC3\x28"));             // bad continuation
}

TEST(Utf8Test, CountingValidTextAgreesWithTheCheckingCount) {
  const std::string pieces[] = {"a", "\xC3\xA9", "\xED\x95\x9C", "\xF0\x9F\x98\x80", "z"};
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += pieces[(i * 7 + i / 3) % 5];
    EXPECT_EQ(CountCodePointsOfValidUtf8(text), *CountUtf8CodePoints(text)) << "after " << i;
  }
  EXPECT_EQ(CountCodePointsOfValidUtf8(""), 0u);
}

}  // namespace
}  // namespace chat::core
