#include "core/json_scan.h"

#include <gtest/gtest.h>

#include <string>

namespace chat::core {
namespace {

constexpr std::string_view kNames[] = {"rid", "cmid"};

struct Scanned {
  Status status;
  std::string_view rid, cmid;
};

Scanned Scan(std::string_view text, JsonBounds bounds = {}) {
  std::string_view found[2];
  Status status = ScanJson(text, bounds, kNames, found);
  return {status, found[0], found[1]};
}

TEST(JsonScanTest, PicksTopLevelTagsOnly) {
  Scanned s = Scan(R"({"to":"bob","rid":"r1","x":{"rid":"inner"},"cmid":"c-9","text":"a \"rid\": b"})");
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.rid, "r1");
  EXPECT_EQ(s.cmid, "c-9");
}

TEST(JsonScanTest, ValuesThatAreKeysElsewhereAreNotTaken) {
  Scanned s = Scan(R"({"text":"rid","a":"cmid","b":[1,"rid","x"]})");
  EXPECT_TRUE(s.rid.empty());
  EXPECT_TRUE(s.cmid.empty());
  // A non-string or escaped value is left to the parser.
  s = Scan(R"({"rid":5,"cmid":"c\u0031"})");
  EXPECT_TRUE(s.rid.empty());
  EXPECT_TRUE(s.cmid.empty());
}

TEST(JsonScanTest, DepthAtTheEdge) {
  JsonBounds bounds{.max_depth = 3, .max_values = 100};
  EXPECT_TRUE(Scan(R"({"a":[[1]]})", bounds).status.ok());
  Scanned deep = Scan(R"({"rid":"r","a":[[[1]]]})", bounds);
  EXPECT_EQ(deep.status.code(), ErrorCode::kBadRequest);
  EXPECT_EQ(deep.status.message(), "payload nests deeper than 3 levels");
  EXPECT_EQ(deep.rid, "r");  // read before the refusal, for the error reply
  EXPECT_EQ(Scan(std::string(900000, '['), bounds).status.code(), ErrorCode::kBadRequest);
}

TEST(JsonScanTest, ValueCountAtTheEdge) {
  JsonBounds bounds{.max_depth = 8, .max_values = 4};  // the object, the array and two numbers
  EXPECT_TRUE(Scan(R"({"a":[1, 22222]})", bounds).status.ok());
  Scanned wide = Scan(R"({"a":[1,2,3]})", bounds);
  EXPECT_EQ(wide.status.code(), ErrorCode::kBadRequest);
  EXPECT_EQ(wide.status.message(), "payload has more than 4 values");
  EXPECT_EQ(Scan(R"({"a":"x","b":true,"c":null,"d":"y"})", bounds).status.code(), ErrorCode::kBadRequest);
}

TEST(JsonScanTest, BrokenTextIsLeftToTheParser) {
  for (std::string_view text : {"", "{", "\"unterminated", "}}]]", "{\"a\":\\", "nul\0l"}) {
    EXPECT_TRUE(Scan(text).status.ok()) << text;
  }
}

}  // namespace
}  // namespace chat::core
