// The benchmark suite's frame. Every scenario runs against bare Mosquitto and against the chat server in
// the same run, alternating over rounds (bare, chat, bare, chat, ...) so that drift on a shared machine
// hits both alike; each figure is reported as each server's median over the rounds and their ratio
// (chat / bare), and the targets are checked against those medians.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "clients/bench/report.h"

namespace chat::bench {

enum class Server { kBare, kChat };
const char* ServerName(Server server);  // "bare", "chat"

// What one scenario measured on one server in one round: named figures, in the order they were set.
struct Measurement : PhaseOutcome {
  std::vector<std::pair<std::string, double>> figures;
  void Set(const std::string& name, double value);
  std::optional<double> Get(std::string_view name) const;
};

// How one figure reads.
struct FigureSpec {
  std::string name;  // as Measurement::Set names it
  std::string unit;  // "msg/s", "ms", "us", "KB", "s"
  bool higher_is_better = false;
};

// What the scenarios share while the suite runs: settings, and figures one scenario leaves for a later
// one (the half-load scenario runs at half the rate the saturated one reached).
struct SuiteContext {
  int rounds = 3;
  int round = 0;  // the round being run, from 1
  int timeout_seconds = 300;
  bool quick = false;  // small counts: a smoke test of the suite, not a measurement
  // The chat server's saturated 1:1 rate (median), once the saturated 1:1 scenario ran; 0 before.
  double chat_saturated_rate = 0;
  // Where the sweep's plot goes ("" for none).
  std::string plot_path;
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<FigureSpec> figures;
  // Runs one round on one server. Counts come from the scenario's own settings (and context.quick).
  std::function<Measurement(Server server, SuiteContext& context)> run;
  // After every round of the scenario, with each server's medians (may be empty).
  std::function<void(const nlohmann::json& medians, SuiteContext& context)> finished;
};

// A number the issue asks for, checked against the medians of one scenario.
struct Target {
  enum class Kind {
    kRatioAtLeast,  // chat / bare >= threshold
    kRatioAtMost,   // chat / bare <= threshold
    kChatAtMost,    // chat's own figure <= threshold
    kChatAtLeast,   // chat's own figure >= threshold
    kChatAboveBareAtMost,  // chat - bare <= threshold
  };
  std::string scenario;
  std::string figure;
  Kind kind = Kind::kRatioAtLeast;
  double threshold = 0;
  std::string text;  // as the issue words it
};

// Registers scenarios and targets, runs the ones asked for, prints and writes the results.
class Suite {
 public:
  void Add(Scenario scenario) { scenarios_.push_back(std::move(scenario)); }
  void AddTarget(Target target) { targets_.push_back(std::move(target)); }
  const std::vector<Scenario>& scenarios() const { return scenarios_; }

  // Runs `names` (in registration order; "all" runs every one) for `context.rounds` rounds each, prints a
  // table per scenario and the targets, and writes `out` (JSON). Exit status: 0 when every round of
  // every scenario completed, 1 when one did not, 2 when the results cannot be written or a name is
  // unknown.
  int Run(const std::vector<std::string>& names, SuiteContext& context, const std::string& out,
          const nlohmann::json& settings);

 private:
  nlohmann::json RunScenario(const Scenario& scenario, SuiteContext& context, bool* completed);
  nlohmann::json CheckTargets(const nlohmann::json& results) const;

  std::vector<Scenario> scenarios_;
  std::vector<Target> targets_;
};

// Where each scenario file puts its scenarios, options and targets: a file defines
//   const ScenarioFile kGroupScenarios(AddGroupScenarios);
// at namespace scope, and main() calls every registered function, in the order of ScenarioFileOrder.
using AddScenariosFunction = void (*)(Suite& suite, CLI::App& app);
class ScenarioFile {
 public:
  // `order`: where the file's scenarios come in a full run (smaller first).
  ScenarioFile(int order, AddScenariosFunction add);
  // Calls every registered function, by order.
  static void AddAll(Suite& suite, CLI::App& app);
};

// One line on the terminal that says what runs now, rewritten in place (at most every 200 ms) when
// stderr is a terminal; nothing otherwise.
void ShowProgress(const std::string& line);
// Ends the progress line (before ordinary output).
void EndProgress();

// The median of `values` (0 when empty).
double Median(std::vector<double> values);

}  // namespace chat::bench
