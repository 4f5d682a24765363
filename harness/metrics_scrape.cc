#include "harness/metrics_scrape.h"

#include <httplib.h>

#include <chrono>
#include <sstream>

namespace chat::harness {

std::map<std::string, double> ScrapeMetrics(int port) {
  std::map<std::string, double> out;
  if (port == 0) return out;
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(2));
  auto response = client.Get("/metrics");
  if (!response || response->status != 200) return out;
  std::istringstream lines(response->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    // Label values here never hold spaces: the value follows the last one.
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

}  // namespace chat::harness
