// The latency-against-offered-load plot (PNG, gnuplot from Debian) of the sweep scenario.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace chat::bench {

// Draws p50 and p99 delivery latency against offered msg/s for both servers from the sweep's medians
// (figures "offered_per_s_<pct>", "latency_p50_ms_<pct>", "latency_p99_ms_<pct>" for each of `points`)
// into `png`, with its data and gnuplot script beside it. Returns "" or why not (gnuplot missing: the
// script is still written).
std::string PlotLatencyAgainstLoad(const nlohmann::json& medians, const std::vector<std::string>& points,
                                   const std::string& png);

}  // namespace chat::bench
