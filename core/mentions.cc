#include "core/mentions.h"

#include <algorithm>
#include <unordered_set>

namespace chat::core {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool IsWordByte(unsigned char c) { return IsNameChar(static_cast<char>(c)) || c >= 0x80; }

}  // namespace

WrittenMentions FindMentions(std::string_view text) {
  WrittenMentions found;
  std::unordered_set<std::string> seen;
  for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
    if (at > 0 && IsWordByte(static_cast<unsigned char>(text[at - 1]))) continue;  // an address: a@b
    std::size_t end = at + 1;
    while (end < text.size() && IsNameChar(text[end]) && end - at <= 64) ++end;
    std::string name(text.substr(at + 1, end - at - 1));
    if (name.empty()) continue;
    if (name == "all") {
      found.all = true;
      continue;
    }
    if (seen.insert(name).second) found.names.push_back(name);
    while (!name.empty() && name.back() == '.') name.pop_back();
    if (!name.empty() && seen.insert(name).second) found.names.push_back(name);
  }
  return found;
}

Status ResolveMentions(const std::vector<std::string>& members, const std::string& owner, StoredMessage* message) {
  message->mentions.clear();
  message->mentions_all = false;
  WrittenMentions written = FindMentions(message->text);
  if (written.all && message->from != owner) {
    return Status::Error(ErrorCode::kNotAllowed, "only the group's owner may mention @all");
  }
  std::unordered_set<std::string> named(written.names.begin(), written.names.end());
  for (const std::string& member : members) {
    if (member != message->from && (written.all || named.count(member))) message->mentions.push_back(member);
  }
  message->mentions_all = written.all;
  return Status::Ok();
}

bool Mentions(const StoredMessage& message, const std::string& user_id) {
  return std::find(message.mentions.begin(), message.mentions.end(), user_id) != message.mentions.end();
}

}  // namespace chat::core
