#include "clients/bench/plot.h"

#include <cstdlib>
#include <fstream>

namespace chat::bench {

std::string PlotLatencyAgainstLoad(const nlohmann::json& medians, const std::vector<std::string>& points,
                                   const std::string& png) {
  std::string base = png.size() > 4 && png.substr(png.size() - 4) == ".png" ? png.substr(0, png.size() - 4) : png;
  std::string data_path = base + ".dat";
  std::string script_path = base + ".gnuplot";
  {
    // One block per server, one line per offered rate: rate p50 p99.
    std::ofstream data(data_path);
    for (const char* server : {"bare", "chat"}) {
      data << "# " << server << "\n";
      if (medians.contains(server)) {
        const nlohmann::json& figures = medians[server];
        for (const std::string& point : points) {
          std::string rate = "offered_per_s_" + point, p50 = "latency_p50_ms_" + point, p99 = "latency_p99_ms_" + point;
          if (!figures.contains(rate) || !figures.contains(p50) || !figures.contains(p99)) continue;
          data << figures[rate].get<double>() << ' ' << figures[p50].get<double>() << ' ' << figures[p99].get<double>()
               << "\n";
        }
      }
      data << "\n\n";
    }
  }
  {
    std::ofstream script(script_path);
    script << "set terminal pngcairo size 900,560 font 'DejaVu Sans,10'\n"
           << "set output '" << png << "'\n"
           << "set title '1:1 delivery latency against offered load (same run, same machine)'\n"
           << "set xlabel 'offered messages per second'\n"
           << "set ylabel 'delivery latency, ms (log scale)'\n"
           << "set logscale y\nset grid\nset key top left\n"
           << "plot '" << data_path << "' index 0 using 1:2 with linespoints lw 2 title 'bare Mosquitto p50', \\\n"
           << "     '' index 0 using 1:3 with linespoints lw 2 dt 2 title 'bare Mosquitto p99', \\\n"
           << "     '' index 1 using 1:2 with linespoints lw 2 title 'chat server p50', \\\n"
           << "     '' index 1 using 1:3 with linespoints lw 2 dt 2 title 'chat server p99'\n";
  }
  std::string command = "gnuplot '" + script_path + "' 2>&1";
  if (std::system(command.c_str()) != 0) return "gnuplot failed or is not installed (scripts/setup.sh --bench); see " + script_path;
  return "";
}

}  // namespace chat::bench
