// What the benchmarks report alike: the settings every run shares, the plugin/bare ratio, the results
// tables, the JSON results file with the exit status that goes with it, and the options and the frame of
// main() every benchmark has.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace chat::bench {

// plugin / bare, or 0 when the bare run measured nothing.
double Ratio(double plugin, double bare);

// What every load phase reports beside its own figures.
struct PhaseOutcome {
  std::string name;  // "bare" or "plugin"
  bool completed = false;
  std::string error;
  // CPU seconds, to tell which side limits the figures: the generator during the measured interval,
  // the broker over its whole life (start-up and idle time are small next to the load).
  double generator_cpu_s = 0;
  double broker_cpu_s = 0;

  // The results-file object of the phase: `figures` with "completed", the CPU seconds and, when there
  // is one, "error" added.
  nlohmann::json ToJson(nlohmann::json figures) const;
};

// `specific` (a benchmark's own settings) plus what every benchmark runs with: QoS 1, MQTT 5, and the
// machine's hardware threads.
nlohmann::json RunSettings(nlohmann::json specific);

// Writes `results` to `path` and says so. The exit status: 0 when every phase completed, 1 when one did
// not, 2 when the file cannot be written.
int WriteResults(const char* program, const std::string& path, const nlohmann::json& results, bool all_completed);

// A results table: the header row once, then one row per call, columns separated by one space. `columns`
// names each column with its printf-like width: "phase:-7 delivered:10 elapsed_s:10.3" is "phase"
// left-aligned in 7, "delivered" right-aligned in 10, "elapsed_s" in 10 with 3 decimals.
class Table {
 public:
  // One cell: text, an integer or a number.
  using Cell = std::variant<std::string, std::int64_t, double>;

  explicit Table(std::string_view columns);
  void PrintHeader() const;
  void PrintRow(const std::vector<Cell>& cells) const;

 private:
  struct Column {
    std::string name;
    int width = 0;
    int precision = 0;
    bool left = false;
  };
  std::vector<Column> columns_;
};

// The options every benchmark has: --timeout (limit per phase, seconds) and --out (JSON results file).
void AddCommonOptions(CLI::App& app, int* timeout_seconds, std::string* out);
// A numeric option with its default shown and its range checked: what every benchmark setting is.
template <typename T, typename Bound>
CLI::Option* AddBoundedOption(CLI::App& app, const std::string& name, T* value, const std::string& help, Bound min,
                              Bound max) {
  return app.add_option(name, *value, help)->capture_default_str()->check(CLI::Range(min, max));
}

// Runs a benchmark's phases and report: Ctrl-C handling, libmosquitto set up and cleaned up around
// `run`, and an exception reported as "<program>: <what>" with exit status 2.
int RunBenchmark(const char* program, const std::function<int()>& run);

// Says on stderr "<what>: INCOMPLETE: <error>" when a phase did not complete; returns `completed`.
bool NoteIncomplete(const std::string& what, bool completed, const std::string& error);

// What an incomplete phase adds to its error: the last 2000 bytes of the broker's `log`.
std::string BrokerLogTail(const std::string& log);

}  // namespace chat::bench
