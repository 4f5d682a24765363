#include "clients/bench/suite.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "clients/bench/load_client.h"

namespace chat::bench {
namespace {

using nlohmann::json;

bool IsTerminal() {
  static const bool terminal = isatty(STDERR_FILENO) == 1;
  return terminal;
}

bool progress_shown = false;
Clock::time_point last_progress;

std::string Format(double value) {
  char text[32];
  double magnitude = std::abs(value);
  std::snprintf(text, sizeof(text), magnitude >= 1000 ? "%.0f" : magnitude >= 10 ? "%.1f" : "%.3f", value);
  return text;
}

// What the machine is, for the results file: figures from another machine are not comparable.
json Machine() {
  json machine = {{"hardware_threads", std::thread::hardware_concurrency()}};
  utsname name{};
  if (uname(&name) == 0) machine["kernel"] = std::string(name.sysname) + " " + name.release;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      machine["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  return machine;
}

}  // namespace

namespace {

std::vector<std::pair<int, AddScenariosFunction>>& ScenarioFiles() {
  static std::vector<std::pair<int, AddScenariosFunction>> files;
  return files;
}

}  // namespace

ScenarioFile::ScenarioFile(int order, AddScenariosFunction add) { ScenarioFiles().emplace_back(order, add); }

void ScenarioFile::AddAll(Suite& suite, CLI::App& app) {
  std::vector<std::pair<int, AddScenariosFunction>> files = ScenarioFiles();
  std::stable_sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : files) add(suite, app);
}

const char* ServerName(Server server) { return server == Server::kBare ? "bare" : "chat"; }

void Measurement::Set(const std::string& name, double value) {
  for (auto& [key, existing] : figures) {
    if (key == name) {
      existing = value;
      return;
    }
  }
  figures.emplace_back(name, value);
}

std::optional<double> Measurement::Get(std::string_view name) const {
  for (const auto& [key, value] : figures) {
    if (key == name) return value;
  }
  return std::nullopt;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void ShowProgress(const std::string& line) {
  if (!IsTerminal()) return;
  auto now = Clock::now();
  if (progress_shown && now - last_progress < std::chrono::milliseconds(200)) return;
  last_progress = now;
  progress_shown = true;
  std::fprintf(stderr, "\r\033[K%s", line.substr(0, 160).c_str());
  std::fflush(stderr);
}

void EndProgress() {
  if (!progress_shown) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  progress_shown = false;
}

json Suite::RunScenario(const Scenario& scenario, SuiteContext& context, bool* completed) {
  std::map<std::string, std::vector<Measurement>> rounds;  // by server name
  for (int round = 1; round <= context.rounds && !Interrupted(); ++round) {
    context.round = round;
    for (Server server : {Server::kBare, Server::kChat}) {
      if (Interrupted()) break;
      ShowProgress(scenario.name + " " + ServerName(server) + " round " + std::to_string(round) + "/" +
                   std::to_string(context.rounds) + ": starting");
      Measurement measurement = scenario.run(server, context);
      measurement.name = ServerName(server);
      EndProgress();
      *completed &= NoteIncomplete(scenario.name + " " + measurement.name + " round " + std::to_string(round),
                                   measurement.completed, measurement.error);
      rounds[measurement.name].push_back(std::move(measurement));
    }
  }

  json result = {{"name", scenario.name}, {"description", scenario.description}};
  json figures = json::array();
  for (const FigureSpec& spec : scenario.figures) {
    figures.push_back({{"name", spec.name}, {"unit", spec.unit}, {"higher_is_better", spec.higher_is_better}});
  }
  result["figures"] = figures;
  json medians = json::object();
  for (const auto& [server, measurements] : rounds) {
    json list = json::array();
    for (const Measurement& m : measurements) {
      json figures_json = json::object();
      for (const auto& [name, value] : m.figures) figures_json[name] = value;
      list.push_back(m.ToJson({{"figures", figures_json}}));
    }
    result["rounds"][server] = list;
    for (const FigureSpec& spec : scenario.figures) {
      std::vector<double> values;
      for (const Measurement& m : measurements) {
        if (auto value = m.Get(spec.name); value && m.completed) values.push_back(*value);
      }
      if (!values.empty()) medians[server][spec.name] = Median(values);
    }
  }
  result["median"] = medians;

  // The table: one row per figure, each server's median and the ratio.
  std::printf("\n== %s: %s (medians of %d rounds)\n", scenario.name.c_str(), scenario.description.c_str(),
              context.rounds);
  const Table table("figure:-34 unit:-6 bare:12 chat:12 chat/bare:10");
  table.PrintHeader();
  json ratios = json::object();
  for (const FigureSpec& spec : scenario.figures) {
    bool has_bare = medians.contains("bare") && medians["bare"].contains(spec.name);
    bool has_chat = medians.contains("chat") && medians["chat"].contains(spec.name);
    double bare = has_bare ? medians["bare"][spec.name].get<double>() : 0;
    double chat = has_chat ? medians["chat"][spec.name].get<double>() : 0;
    std::string ratio = "-";
    if (has_bare && has_chat && bare != 0) {
      ratios[spec.name] = chat / bare;
      ratio = Format(chat / bare);
    }
    table.PrintRow({spec.name, spec.unit, has_bare ? Format(bare) : std::string("-"),
                    has_chat ? Format(chat) : std::string("-"), ratio});
  }
  result["ratio_chat_over_bare"] = ratios;
  std::fflush(stdout);
  if (scenario.finished) scenario.finished(medians, context);
  return result;
}

json Suite::CheckTargets(const json& results) const {
  json checked = json::array();
  std::printf("\n== targets (this machine; medians of this run)\n");
  for (const Target& target : targets_) {
    const json* scenario = nullptr;
    for (const json& s : results) {
      if (s["name"] == target.scenario) scenario = &s;
    }
    if (scenario == nullptr) continue;  // not run
    const json& medians = (*scenario)["median"];
    auto median = [&](const char* server) -> std::optional<double> {
      if (!medians.contains(server) || !medians[server].contains(target.figure)) return std::nullopt;
      return medians[server][target.figure].get<double>();
    };
    std::optional<double> bare = median("bare");
    std::optional<double> chat = median("chat");
    std::optional<double> measured;
    bool met = false;
    switch (target.kind) {
      case Target::Kind::kRatioAtLeast:
      case Target::Kind::kRatioAtMost:
        if (bare && chat && *bare != 0) measured = *chat / *bare;
        if (measured) met = target.kind == Target::Kind::kRatioAtLeast ? *measured >= target.threshold
                                                                        : *measured <= target.threshold;
        break;
      case Target::Kind::kChatAtMost:
      case Target::Kind::kChatAtLeast:
        measured = chat;
        if (measured) met = target.kind == Target::Kind::kChatAtMost ? *measured <= target.threshold
                                                                      : *measured >= target.threshold;
        break;
      case Target::Kind::kChatAboveBareAtMost:
        if (bare && chat) measured = *chat - *bare;
        if (measured) met = *measured <= target.threshold;
        break;
    }
    std::printf("%-4s %-70s measured %s\n", !measured ? "n/a" : met ? "met" : "MISS", target.text.c_str(),
                measured ? Format(*measured).c_str() : "-");
    json entry = {{"target", target.text}, {"scenario", target.scenario}, {"figure", target.figure},
                  {"threshold", target.threshold}, {"met", met}};
    if (measured) entry["measured"] = *measured;
    checked.push_back(entry);
  }
  return checked;
}

int Suite::Run(const std::vector<std::string>& names, SuiteContext& context, const std::string& out,
               const json& settings) {
  std::set<std::string> wanted(names.begin(), names.end());
  bool all = wanted.count("all") > 0;
  for (const std::string& name : wanted) {
    if (name == "all") continue;
    if (std::none_of(scenarios_.begin(), scenarios_.end(), [&](const Scenario& s) { return s.name == name; })) {
      std::fprintf(stderr, "chat-bench: no scenario named %s\n", name.c_str());
      return 2;
    }
  }
  auto started = Clock::now();
  bool completed = true;
  json results = json::array();
  for (const Scenario& scenario : scenarios_) {
    if (Interrupted()) break;
    if (!all && wanted.count(scenario.name) == 0) continue;
    results.push_back(RunScenario(scenario, context, &completed));
  }
  json document = {{"machine", Machine()},
                   {"settings", RunSettings(settings)},
                   {"rounds", context.rounds},
                   {"elapsed_s", std::chrono::duration<double>(Clock::now() - started).count()},
                   {"scenarios", results}};
  document["targets"] = CheckTargets(results);
  if (Interrupted()) {
    std::fprintf(stderr, "chat-bench: interrupted; the results so far follow\n");
    completed = false;
  }
  return WriteResults("chat-bench", out, document, completed);
}

}  // namespace chat::bench
