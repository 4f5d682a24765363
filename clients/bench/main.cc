// chat-bench: the benchmark suite. Every scenario runs against bare Mosquitto and against the chat server
// in the same run, alternating over rounds, on loopback, each bounded in time and count; it prints each
// server's medians and their ratio, checks the targets, and writes JSON and a latency plot.
//   chat-bench                      every scenario, 3 rounds (docs/PERFORMANCE.md)
//   chat-bench one-to-one idle      some of them
//   chat-bench --quick --rounds 1   small counts: does every scenario still run?
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "clients/bench/report.h"
#include "clients/bench/suite.h"

namespace chat::bench {
namespace {

int Main(int argc, char** argv) {
  CLI::App app{"chat-bench: bare Mosquitto and the chat server, the same loads in the same run"};
  std::vector<std::string> names = {"all"};
  SuiteContext context;
  std::string out = "chat-bench.json";
  context.plot_path = "chat-bench-latency.png";
  app.add_option("scenarios", names, "scenarios to run (default: all); --list names them");
  bool list = false;
  app.add_flag("--list", list, "list the scenarios and exit");
  app.add_option("--rounds", context.rounds, "rounds (bare, chat, bare, chat, ...) per scenario")
      ->capture_default_str()
      ->check(CLI::Range(1, 20));
  app.add_flag("--quick", context.quick, "small counts: checks that the scenarios run, measures nothing");
  app.add_option("--timeout", context.timeout_seconds, "limit per phase, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--out", out, "JSON results file")->capture_default_str();
  app.add_option("--plot", context.plot_path, "latency plot of the sweep (PNG; empty: none)")->capture_default_str();

  Suite suite;
  ScenarioFile::AddAll(suite, app);
  CLI11_PARSE(app, argc, argv);
  if (list) {
    for (const Scenario& s : suite.scenarios()) std::printf("%-24s %s\n", s.name.c_str(), s.description.c_str());
    return 0;
  }
  return RunBenchmark("chat-bench", [&] {
    nlohmann::json settings = {{"scenarios", names}, {"quick", context.quick}, {"timeout_s", context.timeout_seconds}};
    return suite.Run(names, context, out, settings);
  });
}

}  // namespace
}  // namespace chat::bench

int main(int argc, char** argv) { return chat::bench::Main(argc, argv); }
