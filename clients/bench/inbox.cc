// The conversation list (inbox) of a user with many conversations: one device asks for the first page
// (`conversations`, 50 entries) over and over, and walks the whole list in pages of 100, timing each
// round trip. The same is measured for a user with 50 conversations: a page should cost about the same
// whatever the number of conversations (docs/PROTOCOL.md "Read positions and unread counts").
// Chat server only: bare Mosquitto keeps no conversations (its rounds measure nothing).
#include <mosquitto.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/bench/load_client.h"
#include "clients/bench/servers.h"
#include "clients/bench/suite.h"
#include "core/message_id.h"
#include "core/records.h"
#include "core/topic_format.h"

namespace chat::bench {
namespace {

using nlohmann::json;

constexpr char kBusyUser[] = "inbox-busy";
constexpr char kQuietUser[] = "inbox-quiet";
constexpr int kFirstPage = 50;
constexpr int kQuietConversations = kFirstPage;  // one first page: the same page, 20x fewer conversations
constexpr int kWalkPage = 100;

struct InboxLoad {
  int conversations = 1000;
  int requests = 200;  // first-page requests per user
  int walks = 10;      // walks of the whole list
};

std::string PeerName(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "inbox-peer%04d", i);
  return name;
}

// `conversations` 1:1 conversations of `user`, one message each from a different peer, written through
// the store as the server writes a send (so the store's list is built as it is in service).
std::string SeedConversations(harness::BrokerProcess& broker, const std::string& user, int conversations,
                              core::MessageId* next_id) {
  return broker.WithStoreOffline([&](core::Store& store, const config::ServerConfig&) {
    for (int i = 0; i < conversations; ++i) {
      core::MessageId id = (*next_id)++;
      core::StoredMessage message;
      message.id = id;
      message.from = PeerName(i);
      message.to = user;
      message.text = "message " + std::to_string(i) + " of a busy day";
      message.created_at_ms = core::MessageIdGenerator::TimestampMillis(id);
      core::WriteSet writes;
      for (const std::string& recipient : {user, message.from}) {
        core::Result<std::uint64_t> seq = store.LastQueueSeq(recipient);
        if (!seq.ok()) return seq.status();
        writes.queue.push_back({recipient, *seq + 1,
                                {core::QueueEntry::Kind::kMessage, message.conversation(), id, "", message.created_at_ms}});
      }
      writes.peers.push_back({user, {message.from, id}});
      writes.peers.push_back({message.from, {user, id}});
      writes.messages.push_back(std::move(message));
      writes.id_floor = id;
      if (core::Status s = store.Apply(writes); !s.ok()) return s;
    }
    return core::Status::Ok();
  });
}

class InboxRun {
 public:
  InboxRun(const InboxLoad& load, const SuiteContext& context) : load_(load), context_(context) {}

  Measurement Run(const harness::BrokerProcess& broker) {
    Measurement m;
    for (const auto& [user, prefix] : {std::pair{kBusyUser, "busy"}, std::pair{kQuietUser, "quiet"}}) {
      if (std::string error = Measure(broker, user, prefix, &m); !error.empty()) {
        m.error = std::string(user) + ": " + error;
        return m;
      }
    }
    m.completed = true;
    return m;
  }

 private:
  std::string Measure(const harness::BrokerProcess& broker, const std::string& user, const std::string& prefix,
                      Measurement* m) {
    RequestSession session;
    auto deadline = Clock::now() + std::chrono::seconds(context_.timeout_seconds);
    if (std::string error = session.Connect(broker.mqtt_port(), user, kBenchPassword, deadline, context_.timeout_seconds);
        !error.empty()) {
      return error;
    }
    const std::string topic = core::RequestTopic(core::RequestOp::kConversations);
    // One request and its reply; "" and the reply parsed, or the error.
    auto ask = [&](json request, json* reply, std::int64_t* took_ns) -> std::string {
      std::string rid = session.NextRid();
      request["rid"] = rid;
      std::string payload;
      if (std::string error = session.Ask(topic, rid, request.dump(), &payload, took_ns); !error.empty()) return error;
      *reply = json::parse(payload, nullptr, false);
      if (reply->value("type", "") != "conversations") return "refused: " + payload;
      return "";
    };

    std::vector<std::int64_t> first_page;
    std::size_t listed = 0;
    for (int i = 0; i < load_.requests && !Interrupted(); ++i) {
      json reply;
      std::int64_t took = 0;
      if (std::string e = ask({{"limit", kFirstPage}}, &reply, &took); !e.empty()) return e;
      first_page.push_back(took);
      listed = reply["conversations"].size();
    }
    std::vector<std::int64_t> walks;
    std::size_t walked = 0;
    for (int i = 0; i < load_.walks && !Interrupted(); ++i) {
      json request = {{"limit", kWalkPage}};
      std::int64_t total = 0;
      walked = 0;
      for (;;) {
        json reply;
        std::int64_t took = 0;
        if (std::string e = ask(request, &reply, &took); !e.empty()) return e;
        total += took;
        walked += reply["conversations"].size();
        if (!reply.value("more", false)) break;
        request["before"] = reply["next_before"];
      }
      walks.push_back(total);
    }
    session.Disconnect();
    if (listed == 0) return "the first page was empty";
    LatencySummary page = Summarize(first_page);
    LatencySummary walk = Summarize(walks);
    m->Set(prefix + "_conversations", static_cast<double>(walked));
    m->Set(prefix + "_first_page_p50_ms", page.p50_ms);
    m->Set(prefix + "_first_page_p99_ms", page.p99_ms);
    m->Set(prefix + "_whole_list_p50_ms", walk.p50_ms);
    return "";
  }

  const InboxLoad& load_;
  const SuiteContext& context_;
};

Measurement RunInbox(const InboxLoad& load, Server server, const SuiteContext& context) {
  if (server == Server::kBare) {
    Measurement nothing;
    nothing.completed = true;
    return nothing;
  }
  ServerSetup setup;
  setup.users = {kBusyUser, kQuietUser};
  setup.prepare_offline = [&](harness::BrokerProcess& broker) {
    core::MessageId next_id = core::MessageIdGenerator::FirstIdAt(1790000000000);
    std::string error = SeedConversations(broker, kBusyUser, load.conversations, &next_id);
    return error.empty() ? SeedConversations(broker, kQuietUser, kQuietConversations, &next_id) : error;
  };
  return MeasureOnServer(server, setup, [&](const harness::BrokerProcess& broker) {
    return InboxRun(load, context).Run(broker);
  });
}

}  // namespace

// inbox and its option.
void AddInboxScenarios(Suite& suite, CLI::App& app) {
  static InboxLoad load;
  app.add_option("--inbox-conversations", load.conversations, "inbox: conversations of the busy user")
      ->capture_default_str()
      ->check(CLI::Range(kFirstPage, 100000));
  Scenario inbox{"inbox",
                 "the conversation list of a user with 1,000 conversations and of one with 50: first page "
                 "(50) round trips and whole-list walks (pages of 100); chat server only",
                 {{"busy_conversations", "", true},
                  {"busy_first_page_p50_ms", "ms", false},
                  {"busy_first_page_p99_ms", "ms", false},
                  {"busy_whole_list_p50_ms", "ms", false},
                  {"quiet_conversations", "", true},
                  {"quiet_first_page_p50_ms", "ms", false},
                  {"quiet_first_page_p99_ms", "ms", false},
                  {"quiet_whole_list_p50_ms", "ms", false}},
                 nullptr,
                 nullptr};
  inbox.run = [](Server server, SuiteContext& context) {
    InboxLoad run = load;
    if (context.quick) {
      run.conversations = kFirstPage + 10;
      run.requests = 5;
      run.walks = 1;
    }
    return RunInbox(run, server, context);
  };
  suite.Add(inbox);
}

const ScenarioFile kInboxScenarios(70, AddInboxScenarios);

}  // namespace chat::bench
