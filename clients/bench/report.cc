#include "clients/bench/report.h"

#include <mosquitto.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "clients/bench/load_client.h"

namespace chat::bench {

double Ratio(double plugin, double bare) { return bare > 0 ? plugin / bare : 0; }

nlohmann::json RunSettings(nlohmann::json specific) {
  specific["qos"] = 1;
  specific["mqtt_version"] = 5;
  specific["hardware_threads"] = std::thread::hardware_concurrency();
  return specific;
}

int WriteResults(const char* program, const std::string& path, const nlohmann::json& results, bool all_completed) {
  std::ofstream file(path);
  file << results.dump(2) << "\n";
  if (!file) {
    std::fprintf(stderr, "%s: cannot write %s\n", program, path.c_str());
    return 2;
  }
  std::printf("results written to %s\n", path.c_str());
  return all_completed ? 0 : 1;
}

Table::Table(std::string_view columns) {
  std::size_t at = 0;
  while (at < columns.size()) {
    std::size_t end = columns.find(' ', at);
    if (end == std::string_view::npos) end = columns.size();
    std::string_view spec = columns.substr(at, end - at);
    at = end + 1;
    if (spec.empty()) continue;
    std::size_t colon = spec.rfind(':');
    Column column;
    column.name = std::string(spec.substr(0, colon));
    std::string format(spec.substr(colon + 1));
    column.left = !format.empty() && format[0] == '-';
    column.width = std::abs(std::atoi(format.c_str()));
    if (std::size_t dot = format.find('.'); dot != std::string::npos) column.precision = std::atoi(format.c_str() + dot + 1);
    columns_.push_back(std::move(column));
  }
}

void Table::PrintHeader() const {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const Column& c = columns_[i];
    std::printf(c.left ? "%s%-*s" : "%s%*s", i ? " " : "", c.width, c.name.c_str());
  }
  std::printf("\n");
}

void Table::PrintRow(const std::vector<Cell>& cells) const {
  for (std::size_t i = 0; i < columns_.size() && i < cells.size(); ++i) {
    const Column& c = columns_[i];
    const char* separator = i ? " " : "";
    if (const auto* text = std::get_if<std::string>(&cells[i])) {
      std::printf(c.left ? "%s%-*s" : "%s%*s", separator, c.width, text->c_str());
    } else if (const auto* integer = std::get_if<std::int64_t>(&cells[i])) {
      std::printf(c.left ? "%s%-*" PRId64 : "%s%*" PRId64, separator, c.width, *integer);
    } else {
      std::printf(c.left ? "%s%-*.*f" : "%s%*.*f", separator, c.width, c.precision, std::get<double>(cells[i]));
    }
  }
  std::printf("\n");
}

void AddCommonOptions(CLI::App& app, int* timeout_seconds, std::string* out) {
  app.add_option("--timeout", *timeout_seconds, "limit per phase, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--out", *out, "JSON results file")->capture_default_str();
}

int RunBenchmark(const char* program, const std::function<int()>& run) {
  try {
    InstallSignalHandlers();
    mosquitto_lib_init();
    int status = run();
    mosquitto_lib_cleanup();
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 2;
  }
}

bool NoteIncomplete(const std::string& what, bool completed, const std::string& error) {
  if (!completed) std::fprintf(stderr, "%s: INCOMPLETE: %s\n", what.c_str(), error.c_str());
  return completed;
}

nlohmann::json PhaseOutcome::ToJson(nlohmann::json figures) const {
  figures["completed"] = completed;
  figures["generator_cpu_s"] = generator_cpu_s;
  figures["broker_cpu_s"] = broker_cpu_s;
  if (!error.empty()) figures["error"] = error;
  return figures;
}

std::string BrokerLogTail(const std::string& log) {
  constexpr std::size_t kTail = 2000;
  return "\nbroker log (tail):\n" + (log.size() > kTail ? log.substr(log.size() - kTail) : log);
}

}  // namespace chat::bench
