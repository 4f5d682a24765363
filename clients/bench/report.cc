#include "clients/bench/report.h"

#include <cstdio>
#include <fstream>
#include <thread>

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

}  // namespace chat::bench
