// Search over a large store: 1,000,000 messages are written into the store before the broker starts
// (through the store's own write path, so the index is built as in service), 200,000 of them in the
// 200 conversations of the user who searches. The user then asks a mix of queries (a common word, a
// rare one, two words, a prefix being typed, a Korean word inside unspaced text, one conversation only)
// round after round, timing each reply. Meanwhile another client pings the broker: a search runs on the
// read worker, so the event loop, and every other client, should not wait for it. Also printed: the
// index's share of the store's size.
// Chat server only: bare Mosquitto stores nothing (its rounds measure nothing).
#include <mosquitto.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/bench/suite.h"
#include "core/message_id.h"
#include "core/records.h"
#include "core/topic_format.h"
#include "harness/ping_probe.h"

namespace chat::bench {
namespace {

using nlohmann::json;

constexpr char kSearcher[] = "searcher";
constexpr char kProbeUser[] = "probe";
constexpr int kVocabulary = 5000;
constexpr int kWordsPerMessage = 10;
constexpr int kSeedBatch = 1000;

struct SearchLoad {
  int messages = 1000000;
  int searcher_conversations = 200;
  double searcher_share = 0.2;  // of the messages, in the searcher's conversations
  int rounds_of_queries = 20;
};

// Word i of the vocabulary ("w0" ... "w4999"), drawn with a Zipf-like skew: a few words are common.
std::string Word(int i) { return "w" + std::to_string(i); }

struct Seeded {
  std::uint64_t store_bytes = 0;
  std::uint64_t index_bytes = 0;
  double seconds = 0;
};

std::string SeedStore(harness::BrokerProcess& broker, const SearchLoad& load, Seeded* seeded) {
  auto started = Clock::now();
  std::string error = broker.WithStoreOffline([&](core::Store& store, const config::ServerConfig&) {
    std::mt19937 random(42);
    std::discrete_distribution<int> word([&] {
      std::vector<double> weights(kVocabulary);
      for (int i = 0; i < kVocabulary; ++i) weights[i] = 1.0 / (i + 1);
      return std::discrete_distribution<int>(weights.begin(), weights.end());
    }());
    std::uniform_int_distribution<int> peer_of_searcher(0, load.searcher_conversations - 1);
    std::uniform_int_distribution<int> stranger(0, 9999);
    std::bernoulli_distribution searchers(load.searcher_share);
    std::bernoulli_distribution korean(0.05);
    core::MessageId id = core::MessageIdGenerator::FirstIdAt(1780000000000);
    std::uint64_t seq = 0;
    for (int done = 0; done < load.messages;) {
      core::WriteSet writes;
      for (int i = 0; i < kSeedBatch && done < load.messages; ++i, ++done) {
        core::StoredMessage message;
        message.id = (id += 4096);  // about a millisecond apart
        message.created_at_ms = core::MessageIdGenerator::TimestampMillis(message.id);
        bool mine = searchers(random);
        message.from = mine ? kSearcher : "u" + std::to_string(stranger(random));
        message.to = mine ? "p" + std::to_string(peer_of_searcher(random)) : "u" + std::to_string(stranger(random));
        if (mine && random() % 2 == 0) std::swap(message.from, message.to);
        for (int w = 0; w < kWordsPerMessage; ++w) message.text += Word(word(random)) + " ";
        if (korean(random)) message.text += "내일오후에회의가있습니다";
        if (mine) {
          writes.queue.push_back({kSearcher, ++seq, {core::QueueEntry::Kind::kMessage, message.conversation(), message.id, "",
                                                     message.created_at_ms}});
          std::string peer = message.from == kSearcher ? message.to : message.from;
          writes.peers.push_back({kSearcher, {peer, message.id}});
        }
        writes.messages.push_back(std::move(message));
      }
      writes.id_floor = id;
      if (core::Status s = store.Apply(writes); !s.ok()) return s;
    }
    core::Result<core::StoreStatistics> stats = store.Statistics();
    if (!stats.ok()) return stats.status();
    for (const core::StoreStatistics::Table& table : stats->tables) {
      seeded->store_bytes += table.bytes;
      if (table.name == "search_index") seeded->index_bytes = table.bytes;
    }
    return core::Status::Ok();
  });
  seeded->seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return error;
}

Measurement RunQueries(const SearchLoad& load, const SuiteContext& context, const harness::BrokerProcess& broker,
                       const Seeded& seeded) {
  Measurement m;
  RequestSession session;
  auto deadline = Clock::now() + std::chrono::seconds(context.timeout_seconds);
  m.error = session.Connect(broker.mqtt_port(), kSearcher, kBenchPassword, deadline, context.timeout_seconds);
  if (!m.error.empty()) return m;
  harness::PingProbe probe;
  if (std::string error = probe.Start(broker.mqtt_port(), kProbeUser, kBenchPassword); !error.empty()) {
    m.error = "ping probe: " + error;
    return m;
  }

  const std::vector<json> queries = {
      {{"q", Word(3) + " "}},                    // common
      {{"q", Word(2000) + " "}},                 // rare
      {{"q", Word(5) + " " + Word(40) + " "}},   // two words
      {{"q", "w12"}},                            // a prefix being typed
      {{"q", "회의"}},                            // Korean inside unspaced text
      {{"q", Word(7) + " "}, {"peer", "p17"}},   // one conversation
  };
  std::vector<std::int64_t> latencies;
  std::size_t hits = 0;
  const std::string topic = core::RequestTopic(core::RequestOp::kSearch);
  for (int round = 0; round < load.rounds_of_queries && !Interrupted(); ++round) {
    for (json query : queries) {
      std::string rid = session.NextRid();
      query["rid"] = rid;
      std::string payload;
      std::int64_t took = 0;
      m.error = session.Ask(topic, rid, query.dump(), &payload, &took);
      if (!m.error.empty()) return m;
      latencies.push_back(took);
      json reply = json::parse(payload, nullptr, false);
      if (reply.value("type", "") != "search") {
        m.error = "refused: " + payload;
        return m;
      }
      hits += reply["hits"].size();
    }
  }
  session.Disconnect();
  harness::PingStats ping = probe.Stop();
  if (ping.unanswered > 0) {
    m.error = "pings unanswered during the searches: " + ping.ToString();
    return m;
  }
  LatencySummary summary = Summarize(latencies);
  m.Set("messages", load.messages);
  m.Set("search_p50_ms", summary.p50_ms);
  m.Set("search_p99_ms", summary.p99_ms);
  m.Set("hits_per_query", latencies.empty() ? 0 : static_cast<double>(hits) / latencies.size());
  m.Set("ping_p50_ms", ping.p50_ms);
  m.Set("ping_p99_ms", ping.p99_ms);
  m.Set("ping_max_ms", ping.max_ms);
  m.Set("index_share_pct", seeded.store_bytes ? 100.0 * seeded.index_bytes / seeded.store_bytes : 0);
  m.Set("store_mb", seeded.store_bytes / 1e6);
  m.Set("seed_s", seeded.seconds);
  m.completed = true;
  return m;
}

Measurement RunSearch(const SearchLoad& load, Server server, const SuiteContext& context) {
  if (server == Server::kBare) {
    Measurement nothing;
    nothing.completed = true;
    return nothing;
  }
  Seeded seeded;
  ServerSetup setup;
  setup.users = {kSearcher, kProbeUser};
  for (int i = 0; i < load.searcher_conversations; ++i) setup.users.push_back("p" + std::to_string(i));
  setup.prepare_offline = [&](harness::BrokerProcess& broker) { return SeedStore(broker, load, &seeded); };
  return MeasureOnServer(server, setup, [&](const harness::BrokerProcess& broker) {
    return RunQueries(load, context, broker, seeded);
  });
}

}  // namespace

// search and its option.
void AddSearchScenarios(Suite& suite, CLI::App& app) {
  static SearchLoad load;
  app.add_option("--search-messages", load.messages, "search: messages in the store")
      ->capture_default_str()
      ->check(CLI::Range(1000, 10000000));
  Scenario search{"search",
                  "search over 1,000,000 stored messages (200,000 of them the searcher's): a mix of six queries, "
                  "round trip p50/p99, another client's ping meanwhile, and the index's share of the store; "
                  "chat server only",
                  {{"messages", "msg", true},
                   {"search_p50_ms", "ms", false},
                   {"search_p99_ms", "ms", false},
                   {"hits_per_query", "", true},
                   {"ping_p50_ms", "ms", false},
                   {"ping_p99_ms", "ms", false},
                   {"ping_max_ms", "ms", false},
                   {"index_share_pct", "%", false},
                   {"store_mb", "MB", false},
                   {"seed_s", "s", false}},
                  nullptr,
                  nullptr};
  search.run = [](Server server, SuiteContext& context) {
    SearchLoad run = load;
    if (context.quick) {
      run.messages = 5000;
      run.searcher_conversations = 20;
      run.rounds_of_queries = 2;
    }
    return RunSearch(run, server, context);
  };
  suite.Add(search);
}

const ScenarioFile kSearchScenarios(75, AddSearchScenarios);

}  // namespace chat::bench
