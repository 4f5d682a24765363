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

// A number as a person writes it: 1000000, not 1e+06; 0.01 stays 0.01.
template <typename T>
std::string NumberText(T value) {
  std::ostringstream out;
  if constexpr (std::is_floating_point_v<T>) {
    if (value == static_cast<T>(static_cast<long long>(value))) {
      out << static_cast<long long>(value);
      return out.str();
    }
  }
  out << value;
  return out.str();
}

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
    return KeyError(key, "must be " + NumberText(min) + ".." + NumberText(max) + ", got " + node.Scalar());
  }
  *out = value;
  return "";
}

// A non-empty scalar.
std::string ReadString(const YAML::Node& node, const std::string& key, std::string* out);
// true or false.
std::string ReadBool(const YAML::Node& node, const std::string& key, bool* out);
// An IPv4 or IPv6 address in numeric form (what a listener binds).
std::string ReadIpAddress(const YAML::Node& node, const std::string& key, std::string* out);

using FieldReader = std::function<std::string(const YAML::Node&, const std::string& key)>;

// Applies `fields` to the mapping `node` (at `path`, "" for the top level). A key without a reader is an
// error naming the nearest known key, so typos surface instead of being ignored; so is a key given twice
// (YAML parsers disagree on which one wins).
std::string ReadMapping(const YAML::Node& node, const std::string& path, const std::map<std::string, FieldReader>& fields);

// A reader of a nested mapping with `fields`, which must outlive it.
FieldReader Section(const std::map<std::string, FieldReader>& fields);

// Whether a running server takes a new value of a setting when its file is reloaded (SIGHUP), or only
// at its next start.
enum class Reload { kAtRestart, kLive };

// One numeric setting: its key, the field of `Settings` it fills, its valid range and whether a reload
// applies it. The check, the error text ("must be 1..1000000, got 0") and the reload rule all come from
// this one row.
template <typename Settings>
struct NumberSetting {
  const char* key;
  std::variant<std::size_t Settings::*, std::uint32_t Settings::*, int Settings::*, double Settings::*> field;
  double min;
  double max;
  Reload reload = Reload::kAtRestart;
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
