#include "config/yaml_fields.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <vector>

namespace chat::config {
namespace {

// Levenshtein distance: the number of single-character edits from `a` to `b`.
std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The known key closest to `name`, or "" when none is close enough to be a likely typo. A key that
// begins with `name` is close ("timeout" for "timeout_seconds").
std::string NearestKey(const std::string& name, const std::map<std::string, FieldReader>& fields) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(3, name.size() / 3) + 1;
  for (const auto& field : fields) {
    bool prefix = name.size() >= 3 && field.first.rfind(name, 0) == 0;
    std::size_t distance = prefix ? 1 : EditDistance(name, field.first);
    if (distance < best_distance) {
      best = field.first;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace

std::string ReadString(const YAML::Node& node, const std::string& key, std::string* out) {
  if (!node.IsScalar() || node.Scalar().empty()) return KeyError(key, "must be a non-empty string");
  *out = node.Scalar();
  return "";
}

std::string ReadBool(const YAML::Node& node, const std::string& key, bool* out) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    *out = node.Scalar() == "true";
    return "";
  }
  return KeyError(key, "must be true or false");
}

std::string ReadIpAddress(const YAML::Node& node, const std::string& key, std::string* out) {
  std::string value;
  if (std::string error = ReadString(node, key, &value); !error.empty()) return error;
  unsigned char address[16];
  if (inet_pton(AF_INET, value.c_str(), address) != 1 && inet_pton(AF_INET6, value.c_str(), address) != 1) {
    return KeyError(key, "must be an IP address, got \"" + value + "\"");
  }
  *out = value;
  return "";
}

std::string ReadMapping(const YAML::Node& node, const std::string& path,
                        const std::map<std::string, FieldReader>& fields) {
  if (!node.IsMap()) return KeyError(path.empty() ? "(top level)" : path, "must be a mapping");
  std::set<std::string> seen;
  for (const auto& entry : node) {
    std::string name = entry.first.Scalar();
    std::string key = path.empty() ? name : path + "." + name;
    auto reader = fields.find(name);
    if (reader == fields.end()) {
      std::string nearest = NearestKey(name, fields);
      if (nearest.empty()) return KeyError(key, "unknown setting");
      return KeyError(key, "unknown setting; did you mean " + (path.empty() ? nearest : path + "." + nearest) + "?");
    }
    if (!seen.insert(name).second) return KeyError(key, "given twice");
    if (std::string error = reader->second(entry.second, key); !error.empty()) return error;
  }
  return "";
}

FieldReader Section(const std::map<std::string, FieldReader>& fields) {
  return [&fields](const YAML::Node& node, const std::string& key) { return ReadMapping(node, key, fields); };
}

}  // namespace chat::config
