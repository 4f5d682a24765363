// cluster-nodes: 1:1 sends saturating 1, 2 and 3 cluster nodes (docs/SCALING.md) on this one machine,
// beside the single server and bare Mosquitto. Each node is the chat broker with a `cluster:` section:
// its changes go to a JetStream stream on three nats-servers (started here, on loopback, with their own
// folders) before they are acknowledged. The same number of sender/receiver pairs in every case, split
// over the nodes; each node's users are its own (a node serves the accounts of its store), so the load
// is what each node accepts and appends, not traffic between nodes.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/one_to_one.h"
#include "clients/bench/servers.h"
#include "harness/nats_cluster.h"

namespace chat::bench {
namespace {

constexpr int kMaxNodes = 3;

// One pair at 200 msg/s for 3 s (cmids of its own): the chat ack's latency when nothing queues, which a
// saturated run's latency (the queue's length over the rate) hides.
OneToOneLoad Unhurried(const OneToOneLoad& load, bool quick) {
  OneToOneLoad unhurried = load;
  unhurried.pairs = 1;
  unhurried.rate = 200;
  unhurried.messages = quick ? 60 : 600;
  unhurried.cmid_prefix = 'u';
  return unhurried;
}

std::vector<FigureSpec> ClusterFigures() {
  std::vector<FigureSpec> figures;
  for (std::string cut : {"single", "1node", "2nodes", "3nodes"}) {
    figures.push_back({"messages_per_s_" + cut, "msg/s", true});
    figures.push_back({"ack_p50_ms_" + cut, "ms", false});
    figures.push_back({"ack_p99_ms_" + cut, "ms", false});
    figures.push_back({"broker_cpu_us_per_msg_" + cut, "us", false});
    if (cut != "single") figures.push_back({"nats_cpu_us_per_msg_" + cut, "us", false});
    if (cut == "single" || cut == "1node") {
      figures.push_back({"unhurried_ack_p50_ms_" + cut, "ms", false});
      figures.push_back({"unhurried_ack_p99_ms_" + cut, "ms", false});
    }
  }
  return figures;
}

// `load` split over `nodes` cluster nodes run at once; the figures under `cut`. msg/s is the sum of the
// nodes' rates (their runs overlap), the ack p50 the median of theirs, the ack p99 the worst node's.
void MeasureNodes(const OneToOneLoad& load, int nodes, const SuiteContext& context, const std::string& cut,
                  Measurement* out) {
  harness::NatsCluster nats;
  if (std::string error = nats.Start(); !error.empty()) {
    out->completed = false;
    out->error += cut + ": " + error + "\n";
    return;
  }
  std::vector<std::unique_ptr<harness::BrokerProcess>> brokers;
  std::vector<OneToOneLoad> loads;
  for (int node = 1; node <= nodes; ++node) {
    OneToOneLoad part = load;
    part.pairs = load.pairs / nodes + (node <= load.pairs % nodes ? 1 : 0);
    ServerSetup setup = OneToOneSetup(part);
    setup.chat_yaml += nats.ClusterYaml() + "node_id: " + std::to_string(node) + "\n";
    auto broker = std::make_unique<harness::BrokerProcess>(BrokerOptionsFor(Server::kChat, setup));
    std::string error = PrepareChatStore(*broker, setup);
    if (error.empty()) error = broker->Start();
    if (!error.empty()) {
      out->completed = false;
      out->error += cut + " node " + std::to_string(node) + ": " + error + "\n";
      return;
    }
    brokers.push_back(std::move(broker));
    loads.push_back(part);
  }
  auto nats_cpu = [&nats] {
    double seconds = 0;
    for (int i = 0; i < nats.size(); ++i) seconds += nats.server(i).Usage().cpu_seconds;
    return seconds;
  };
  double nats_before = nats_cpu();
  std::vector<Measurement> results(static_cast<std::size_t>(nodes));
  std::vector<std::thread> runs;
  for (std::size_t i = 0; i < brokers.size(); ++i) {
    runs.emplace_back([&, i] {
      results[i] = RunOneToOneOn(*brokers[i], loads[i], Server::kChat, context, cut + " node " + std::to_string(i + 1));
    });
  }
  for (std::thread& run : runs) run.join();
  double nats_seconds = nats_cpu() - nats_before;
  if (nodes == 1) {
    Measurement unhurried = RunOneToOneOn(*brokers[0], Unhurried(load, context.quick), Server::kChat, context,
                                          cut + " unhurried");
    out->Set("unhurried_ack_p50_ms_" + cut, unhurried.Get("ack_p50_ms").value_or(0));
    out->Set("unhurried_ack_p99_ms_" + cut, unhurried.Get("ack_p99_ms").value_or(0));
  }
  double messages = 0;
  for (const OneToOneLoad& part : loads) messages += static_cast<double>(part.pairs) * part.messages;
  double rate = 0, broker_cpu_us = 0, delivered = 0, worst_p99 = 0;
  std::vector<double> p50s;
  for (const Measurement& result : results) {
    if (!result.completed) {
      out->completed = false;
      out->error += cut + ": " + result.error + "\n";
    }
    double node_rate = result.Get("messages_per_s").value_or(0);
    rate += node_rate;
    // CPU per message over all nodes: each node's per-message figure weighted by its messages.
    broker_cpu_us += result.Get("broker_cpu_us_per_msg").value_or(0) * node_rate;
    delivered += node_rate;
    p50s.push_back(result.Get("ack_p50_ms").value_or(0));
    worst_p99 = std::max(worst_p99, result.Get("ack_p99_ms").value_or(0));
    out->generator_cpu_s += result.generator_cpu_s;
    out->broker_cpu_s += result.broker_cpu_s;
  }
  out->Set("messages_per_s_" + cut, rate);
  out->Set("ack_p50_ms_" + cut, Median(p50s));
  out->Set("ack_p99_ms_" + cut, worst_p99);
  out->Set("broker_cpu_us_per_msg_" + cut, delivered > 0 ? broker_cpu_us / delivered : 0);
  // The three nats-servers together, per message sent (the log's cost, which a node's figure leaves out).
  out->Set("nats_cpu_us_per_msg_" + cut, messages > 0 ? nats_seconds * 1e6 / messages : 0);
}

void AddClusterScenarios(Suite& suite, CLI::App& app) {
  static OneToOneLoad load;
  static int max_nodes = kMaxNodes;
  app.add_option("--cluster-max-nodes", max_nodes, "cluster-nodes: measure 1 up to this many nodes")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxNodes));
  Scenario scenario{"cluster-nodes",
                    "1:1 saturated on 1, 2 and 3 cluster nodes (JetStream log, 3 replicas) beside the single server",
                    ClusterFigures(), nullptr, nullptr};
  scenario.run = [](Server server, SuiteContext& context) {
    OneToOneLoad run = load;
    if (context.quick) {
      run.pairs = std::min(run.pairs, 3);
      run.messages = std::min(run.messages, 300);
    }
    if (server == Server::kBare) {
      // The baseline: bare Mosquitto's QoS 1 on the same pairs, one process.
      Measurement bare = RunOneToOne(run, server, context, "cluster-nodes bare");
      Measurement out = bare;
      out.figures.clear();
      out.Set("messages_per_s_single", bare.Get("messages_per_s").value_or(0));
      out.Set("ack_p50_ms_single", bare.Get("ack_p50_ms").value_or(0));
      out.Set("ack_p99_ms_single", bare.Get("ack_p99_ms").value_or(0));
      out.Set("broker_cpu_us_per_msg_single", bare.Get("broker_cpu_us_per_msg").value_or(0));
      return out;
    }
    Measurement single;
    Measurement unhurried;
    MeasureOnServer(server, OneToOneSetup(run), [&](const harness::BrokerProcess& broker) {
      single = RunOneToOneOn(broker, run, server, context, "cluster-nodes single server");
      unhurried = RunOneToOneOn(broker, Unhurried(run, context.quick), server, context, "single server unhurried");
      return single;
    });
    Measurement out;
    out.completed = single.completed;
    out.error = single.error;
    out.generator_cpu_s = single.generator_cpu_s;
    out.broker_cpu_s = single.broker_cpu_s;
    out.Set("messages_per_s_single", single.Get("messages_per_s").value_or(0));
    out.Set("ack_p50_ms_single", single.Get("ack_p50_ms").value_or(0));
    out.Set("ack_p99_ms_single", single.Get("ack_p99_ms").value_or(0));
    out.Set("broker_cpu_us_per_msg_single", single.Get("broker_cpu_us_per_msg").value_or(0));
    out.Set("unhurried_ack_p50_ms_single", unhurried.Get("ack_p50_ms").value_or(0));
    out.Set("unhurried_ack_p99_ms_single", unhurried.Get("ack_p99_ms").value_or(0));
    const char* cuts[] = {"1node", "2nodes", "3nodes"};
    for (int nodes = 1; nodes <= max_nodes && !Interrupted(); ++nodes) {
      MeasureNodes(run, nodes, context, cuts[nodes - 1], &out);
    }
    return out;
  };
  suite.Add(scenario);
}

}  // namespace

const ScenarioFile kClusterScenarios(80, AddClusterScenarios);

}  // namespace chat::bench
