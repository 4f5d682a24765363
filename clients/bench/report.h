// What the benchmarks report alike: the settings every run shares, the plugin/bare ratio and the JSON
// results file with the exit status that goes with it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace chat::bench {

// plugin / bare, or 0 when the bare run measured nothing.
double Ratio(double plugin, double bare);

// `specific` (a benchmark's own settings) plus what every benchmark runs with: QoS 1, MQTT 5, and the
// machine's hardware threads.
nlohmann::json RunSettings(nlohmann::json specific);

// Writes `results` to `path` and says so. The exit status: 0 when every phase completed, 1 when one did
// not, 2 when the file cannot be written.
int WriteResults(const char* program, const std::string& path, const nlohmann::json& results, bool all_completed);

}  // namespace chat::bench
