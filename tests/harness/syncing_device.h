// SyncingDevice: a ChatTestClient that follows the client rules of PROTOCOL.md's Sync section to the
// letter and records every event it applies, so tests can assert "every event, in order, exactly once".
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tests/harness/test_client.h"

namespace chat::harness {

struct AppliedEvent {
  std::int64_t seq = 0;
  bool from_sync = false;  // false: applied from a live publish
  nlohmann::json event;
};

class SyncingDevice {
 public:
  // `page_limit` is the "limit" of every sync request this device makes.
  SyncingDevice(const std::string& uri, std::string user, std::string device, std::string password,
                int page_limit = 100, int mqtt_version = 5);
  SyncingDevice(const SyncingDevice&) = delete;
  SyncingDevice& operator=(const SyncingDevice&) = delete;

  // Rule 1: connects, subscribes to its own topics, then syncs from cur_max_seq until `more` is false.
  // Returns "" or what went wrong. `clean` false keeps a persistent MQTT session (the broker then also
  // redelivers what it queued, which the rules must absorb as duplicates).
  std::string Connect(bool clean = true);
  void Disconnect();

  // Runs sync pages from cur_max_seq until `more` is false, then handles the live events that arrived
  // meanwhile (rule 2: mostly duplicates by then). Returns "" or the sync's error.
  std::string Sync();

  // Handles whatever arrives (rule 2 for events, replies kept for TakeReply) until `done` holds or
  // `timeout` passes. Returns whether `done` held.
  bool PumpUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // Handles what arrives during `window` (e.g. to show that nothing more comes).
  void PumpFor(std::chrono::milliseconds window);
  // Pumps until an event with this seq has been applied.
  bool WaitForSeq(std::int64_t seq, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Pumps until `count` applied events satisfy `match`.
  bool WaitForApplied(const std::function<bool(const nlohmann::json&)>& match, std::size_t count,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Publishes a request to chat/v1/req/<op> (adding a "rid" when `body` has none) and pumps until the
  // reply with that rid arrives. Events arriving meanwhile are applied as usual.
  std::optional<nlohmann::json> Request(const std::string& op, nlohmann::json body,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Publishes a request without waiting for its reply; returns the PUBACK reason code.
  int Post(const std::string& op, const nlohmann::json& body);
  // The first reply received so far (pumping up to `timeout`) matching `match`, removed from the store.
  std::optional<nlohmann::json> TakeReply(const std::function<bool(const nlohmann::json&)>& match,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Forgets the replies received so far (e.g. the acks of a bulk send nobody will look at).
  void ClearReplies() { replies_.clear(); }

  std::int64_t cur_max_seq() const { return cur_max_seq_; }
  // Every applied event in the order applied (which the rules make the seq order).
  const std::vector<AppliedEvent>& applied() const { return applied_; }
  // Applied events of type "message" (optionally of one group), in order.
  std::vector<nlohmann::json> AppliedMessages(const std::string& group = "") const;
  // Live events with seq <= cur_max_seq, ignored by rule 2.
  int duplicates_ignored() const { return duplicates_ignored_; }
  // Live events with seq > cur_max_seq + 1, each answered by a sync (rule 2).
  int gaps_detected() const { return gaps_detected_; }
  // Sync pages whose events skipped a seq, or events still ahead of cur_max_seq after the sync their gap
  // started: a hole the rules cannot fill. Tests expect 0.
  int holes() const { return holes_; }
  int sync_requests() const { return sync_requests_; }
  // Number of events in each sync page received, in order.
  const std::vector<std::size_t>& sync_page_sizes() const { return sync_page_sizes_; }
  int syncs() const { return syncs_; }
  std::int64_t last_seq_seen() const { return last_seq_seen_; }  // "last_seq" of the latest sync page
  // Latest error of a sync page (an "error" reply, a missing reply, a malformed page), "" when none.
  const std::string& sync_error() const { return sync_error_; }

  ChatTestClient& client() { return *client_; }
  const std::string& user() const { return user_; }

 private:
  // The next message from the connection, or nullopt after `timeout`.
  std::optional<Received> Next(std::chrono::milliseconds timeout);
  // Handles one message: an event (rule 2) or a reply (stored).
  void Handle(Received message);
  // Requests and applies sync pages until `more` is false; live events meanwhile are deferred.
  bool SyncPages();
  // Rule 2 for the deferred live events, in arrival order; a gap runs SyncPages().
  void DrainDeferred();
  // Applies one event and advances cur_max_seq (a seq other than cur_max_seq + 1 counts as a hole).
  void Apply(const nlohmann::json& event, bool from_sync);
  std::optional<nlohmann::json> FindReply(const std::function<bool(const nlohmann::json&)>& match);
  std::string NextRid(const char* prefix);

  std::string user_;
  std::string password_;
  int page_limit_;
  std::unique_ptr<ChatTestClient> client_;
  std::int64_t cur_max_seq_ = 0;
  std::vector<AppliedEvent> applied_;
  std::deque<nlohmann::json> replies_;
  // Live events that arrived while a sync page was awaited; handled, in arrival order, after it.
  std::deque<nlohmann::json> deferred_events_;
  // Sends posted and not yet acknowledged, by rid (or "cmid:" + cmid without one): the ack of a send
  // carries its seq instead of the sending device getting the message as an event (PROTOCOL.md), so
  // the device applies the message it sent from this and the ack.
  std::unordered_map<std::string, nlohmann::json> sends_awaiting_ack_;
  bool syncing_ = false;
  int duplicates_ignored_ = 0;
  int gaps_detected_ = 0;
  int holes_ = 0;
  int sync_requests_ = 0;
  std::vector<std::size_t> sync_page_sizes_;
  int syncs_ = 0;
  std::int64_t last_seq_seen_ = 0;
  std::string sync_error_;
  int next_rid_ = 0;
  std::chrono::milliseconds page_timeout_ = std::chrono::seconds(15);
};

}  // namespace chat::harness
