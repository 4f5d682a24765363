// JsonWriter: what it writes parses back to what was given, whatever the bytes and wherever they fall
// in the eight-byte steps of the escaping loop.
#include "core/json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace chat::core {
namespace {

using nlohmann::json;

std::string Escaped(std::string_view value) {
  std::string out;
  AppendJsonEscaped(value, &out);
  return out;
}

TEST(JsonWriterTest, MembersComeOutInOrderWithTheirTypes) {
  std::string text = JsonWriter()
                         .String("type", "ack")
                         .Int("ts", -5)
                         .Uint("seq", 18446744073709551615ULL)
                         .Id("id", 384000000000000001ULL)
                         .Bool("duplicate", true)
                         .Raw("inner", R"({"a":1})")
                         .StringArray("users", {"bob", "c\"d"})
                         .RawArray("events", {"1", "{}"})
                         .Take();
  EXPECT_EQ(text,
            R"({"type":"ack","ts":-5,"seq":18446744073709551615,"id":"384000000000000001","duplicate":true,)"
            R"("inner":{"a":1},"users":["bob","c\"d"],"events":[1,{}]})");
  EXPECT_EQ(JsonWriter().Take(), "{}");
  EXPECT_EQ(JsonWriter().StringArray("none", {}).Take(), R"({"none":[]})");
}

TEST(JsonWriterTest, TakeLeavesAnEmptyWriter) {
  JsonWriter writer;
  writer.String("a", "b");
  EXPECT_EQ(writer.Take(), R"({"a":"b"})");
  EXPECT_EQ(writer.Take(), "{}");
}

TEST(JsonWriterTest, EveryByteThatNeedsEscapingIsEscapedAtEveryOffset) {
  // Each special byte at each position of a 24-byte text: in the 8-byte fast path and in the tail.
  const std::string specials[] = {"\"", "\\", std::string(1, '\0'), "\x01", "\x1f", "\n", "\t", "\r"};
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at < 24; ++at) {
      std::string text(24, 'a');
      text.replace(at, 1, special);
      std::string object = JsonWriter().String("t", text).Take();
      json parsed = json::parse(object, nullptr, false);
      ASSERT_FALSE(parsed.is_discarded()) << object;
      EXPECT_EQ(parsed["t"], text) << "byte " << int(special[0]) << " at " << at;
    }
  }
}

TEST(JsonWriterTest, ValidUtf8IsKeptAndInvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(Escaped("caf\xC3\xA9 \xED\x95\x9C\xEA\xB8\x80 \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xED\x95\x9C\xEA\xB8\x80 \xF0\x9F\x98\x80");
  EXPECT_EQ(Escaped("abcdefgh\xFFxyz"), "abcdefgh\xEF\xBF\xBDxyz");
  EXPECT_EQ(Escaped("\xC3"), "\xEF\xBF\xBD");                      // truncated
  EXPECT_EQ(Escaped("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate: each byte
  EXPECT_EQ(Escaped("plain ascii text, longer than eight bytes"), "plain ascii text, longer than eight bytes");
  EXPECT_EQ(Escaped("\x7f"), "\x7f");  // DEL needs no escape in JSON
}

}  // namespace
}  // namespace chat::core
