// ScrapeMetrics: one GET /metrics from a loopback Prometheus endpoint (the plugin's or the push
// bridge's), as sample -> value, the sample named with its labels: chat_logins_total{result="ok"}.
#pragma once

#include <map>
#include <string>

namespace chat::harness {

// Empty when nothing answers on `port` within two seconds.
std::map<std::string, double> ScrapeMetrics(int port);

}  // namespace chat::harness
