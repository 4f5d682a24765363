// Request payloads as the broker thread reads them (any logged-in user chooses every byte): the bounds
// checked before parsing, the one-pass parse, every typed accessor the handlers use, and the scan that
// recovers rid and cmid from a payload that does not parse.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/json_scan.h"
#include "core/message_id.h"
#include "core/protocol_format.h"
#include "core/utf8.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat::core {
namespace {

using fuzz::IsWithin;

// The service's own bounds, from the default limits: one set for sends, one for every other request.
const RequestBounds kSendBounds = RequestBoundsFor(/*is_send=*/true, Limits{});
const RequestBounds kOtherBounds = RequestBoundsFor(/*is_send=*/false, Limits{});

// The names the handlers read, by the accessor they read them with.
constexpr const char* kStringFields[] = {"to",       "text",     "user",  "group",   "name", "token",
                                         "provider", "platform", "order", "outcome", "rid",  "cmid"};
constexpr const char* kIdFields[] = {"before", "after", "up_to", "job"};
constexpr const char* kListFields[] = {"users", "members", "invalid_devices"};
constexpr std::size_t kMaxListItems = 1000;

// rid and cmid go back to the client verbatim in the reply, inside a JSON string.
void CheckTag(const std::string& tag) {
  FUZZ_CHECK(tag.size() <= 64);
  for (char c : tag) FUZZ_CHECK(c >= 0x20 && c < 0x7F);
}

void CheckStrings(const RequestFields& request, std::string_view payload) {
  for (const char* name : kStringFields) {
    std::string text = "unchanged";
    Status status = request.RequiredString(name, &text);
    FUZZ_CHECK(status.ok() || text == "unchanged");
    if (!status.ok()) continue;
    FUZZ_CHECK(text.size() <= payload.size());
    // The parser validated the UTF-8, so the count that trusts it must agree with one that checks.
    std::optional<std::size_t> checked = CountUtf8CodePoints(text);
    FUZZ_CHECK(checked.has_value());
    std::size_t code_points = 0;
    FUZZ_CHECK(request.RequiredText(name, &text, &code_points).ok());
    FUZZ_CHECK(code_points == *checked);
  }
}

void CheckNumbers(const RequestFields& request) {
  for (const char* name : kIdFields) {
    MessageId id = 0;
    if (request.OptionalId(name, &id).ok() && id != 0) FUZZ_CHECK(ParseMessageId(FormatMessageId(id)) == id);
  }
  // A page limit as history and sync read it. 0 is outside its range, so a value that was read differs.
  std::uint64_t limit = 0;
  if (request.OptionalNumber("limit", 1, std::numeric_limits<std::uint32_t>::max(), &limit).ok() &&
      request.Has("limit")) {
    FUZZ_CHECK(limit >= 1 && limit <= std::numeric_limits<std::uint32_t>::max());
  } else {
    FUZZ_CHECK(limit == 0);
  }
  bool muted = false;
  if (!request.Has("muted")) FUZZ_CHECK(request.OptionalBool("muted", &muted).ok() && !muted);
}

void CheckLists(const RequestFields& request, std::string_view payload) {
  for (const char* name : kListFields) {
    std::vector<std::string> items{"unchanged"};
    Status status = request.OptionalStringList(name, kMaxListItems, &items);
    if (!status.ok() || !request.Has(name)) {
      FUZZ_CHECK(items.size() == 1 && items[0] == "unchanged");
      continue;
    }
    FUZZ_CHECK(items.size() <= kMaxListItems);
    std::size_t bytes = 0;
    for (const std::string& item : items) {
      bytes += item.size();
      FUZZ_CHECK(CountUtf8CodePoints(item).has_value());
    }
    FUZZ_CHECK(bytes <= payload.size());
  }
}

// What the scan reports about `payload`, which the parser accepted: the scan follows valid JSON exactly,
// so it sees the same depth and, where it finds a tag, the parser's tag.
void CheckScanAgrees(std::string_view payload, const RequestBounds& bounds, const RequestTag& tag) {
  constexpr std::string_view kTagNames[] = {"rid", "cmid"};
  std::string_view found[2];
  JsonBounds depth_only = bounds.json;
  depth_only.max_values = std::numeric_limits<std::size_t>::max();
  FUZZ_CHECK(ScanJson(payload, depth_only, kTagNames, found).ok());
  if (found[0].data() != nullptr) FUZZ_CHECK(found[0] == tag.rid);
  if (found[1].data() != nullptr) FUZZ_CHECK(found[1] == tag.cmid);
}

Status CheckParse(RequestFields& request, std::string_view payload, const RequestBounds& bounds) {
  Status status = request.Parse(payload, bounds);
  CheckTag(request.tag().rid);
  CheckTag(request.tag().cmid);
  if (!status.ok()) {
    // A refused payload exposes nothing to the handler.
    FUZZ_CHECK(!request.Has("rid") && !request.Has("text"));
    return status;
  }
  FUZZ_CHECK(payload.size() <= bounds.max_bytes);
  CheckStrings(request, payload);
  CheckNumbers(request);
  CheckLists(request, payload);
  CheckScanAgrees(payload, bounds, request.tag());
  return status;
}

// Two UTF-8 validators meet here: simdjson's, on the whole payload, and ours, on message text.
void CheckUtf8(std::string_view payload, const Status& parsed) {
  std::optional<std::size_t> code_points = CountUtf8CodePoints(payload);
  if (parsed.ok()) FUZZ_CHECK(code_points.has_value());
  if (parsed.code() == ErrorCode::kBadUtf8) FUZZ_CHECK(!code_points.has_value());
  if (code_points) FUZZ_CHECK(CountCodePointsOfValidUtf8(payload) == *code_points);
}

// The scan alone, on any bytes: it runs on exactly the payloads the parser refused.
void CheckScan(std::string_view payload) {
  constexpr std::string_view kTagNames[] = {"rid", "cmid"};
  std::string_view found[2];
  IgnoreError(ScanJson(payload, kOtherBounds.json, kTagNames, found), "only the views are checked");
  for (std::string_view view : found) FUZZ_CHECK(view.data() == nullptr || IsWithin(view, payload));
}

}  // namespace
}  // namespace chat::core

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chat::core;
  // One instance for every payload, as the service keeps one: its parser's buffers carry over.
  static RequestFields request;
  std::string_view payload = chat::fuzz::AsText(data, size);
  Status parsed = CheckParse(request, payload, kOtherBounds);
  IgnoreError(CheckParse(request, payload, kSendBounds), "checked inside");
  CheckUtf8(payload, parsed);
  CheckScan(payload);
  return 0;
}
