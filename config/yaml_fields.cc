#include "config/yaml_fields.h"

namespace chat::config {

std::string ReadString(const YAML::Node& node, const std::string& key, std::string* out) {
  if (!node.IsScalar() || node.Scalar().empty()) return KeyError(key, "must be a non-empty string");
  *out = node.Scalar();
  return "";
}

std::string ReadMapping(const YAML::Node& node, const std::string& path,
                        const std::map<std::string, FieldReader>& fields) {
  if (!node.IsMap()) return KeyError(path.empty() ? "(top level)" : path, "must be a mapping");
  for (const auto& entry : node) {
    std::string name = entry.first.Scalar();
    std::string key = path.empty() ? name : path + "." + name;
    auto reader = fields.find(name);
    if (reader == fields.end()) return KeyError(key, "unknown setting");
    if (std::string error = reader->second(entry.second, key); !error.empty()) return error;
  }
  return "";
}

FieldReader Section(const std::map<std::string, FieldReader>& fields) {
  return [&fields](const YAML::Node& node, const std::string& key) { return ReadMapping(node, key, fields); };
}

}  // namespace chat::config
