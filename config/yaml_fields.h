// Typed reads of YAML fields whose errors name the key ("limits.max_message_chars: must be 1..1000000,
// got 0"). Shared by the server's and the push bridge's config parsers. An empty string means success.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>

namespace chat::config {

inline std::string KeyError(const std::string& key, const std::string& what) { return key + ": " + what; }

// Reads a scalar of type T within [min, max] (NaN never is) into `out`.
template <typename T>
std::string ReadNumber(const YAML::Node& node, const std::string& key, T min, T max, T* out) {
  if (!node.IsScalar()) return KeyError(key, "must be a number");
  T value;
  try {
    value = node.as<T>();
  } catch (const YAML::Exception&) {
    return KeyError(key, "must be a number, got \"" + node.Scalar() + "\"");
  }
  if (!(value >= min && value <= max)) {
    std::ostringstream range;
    range << "must be " << min << ".." << max << ", got " << node.Scalar();
    return KeyError(key, range.str());
  }
  *out = value;
  return "";
}

// A non-empty scalar.
std::string ReadString(const YAML::Node& node, const std::string& key, std::string* out);

using FieldReader = std::function<std::string(const YAML::Node&, const std::string& key)>;

// Applies `fields` to the mapping `node` (at `path`, "" for the top level); a key without a reader is an
// error, so typos surface instead of being ignored.
std::string ReadMapping(const YAML::Node& node, const std::string& path, const std::map<std::string, FieldReader>& fields);

// A reader of a nested mapping with `fields`, which must outlive it.
FieldReader Section(const std::map<std::string, FieldReader>& fields);

// One numeric setting: its key, the field of `Settings` it fills and its valid range. The check and
// the error text ("must be 1..1000000, got 0") both come from this one row.
template <typename Settings>
struct NumberSetting {
  const char* key;
  std::variant<std::size_t Settings::*, std::uint32_t Settings::*, int Settings::*, double Settings::*> field;
  double min;
  double max;
};

// Readers for every row of `table`, filling `*settings`; a section adds its other keys to the result.
template <typename Settings, std::size_t N>
std::map<std::string, FieldReader> NumberFields(const NumberSetting<Settings> (&table)[N], Settings* settings) {
  std::map<std::string, FieldReader> fields;
  for (const NumberSetting<Settings>& row : table) {
    fields[row.key] = [row, settings](const YAML::Node& node, const std::string& key) {
      return std::visit(
          [&](auto member) {
            using T = std::remove_reference_t<decltype(settings->*member)>;
            return ReadNumber<T>(node, key, static_cast<T>(row.min), static_cast<T>(row.max), &(settings->*member));
          },
          row.field);
    };
  }
  return fields;
}

}  // namespace chat::config
