// GroupsSyncTest: the fixture and checks of the groups, sync and read-position tests through the real
// broker: every device follows PROTOCOL.md's Sync rules (SyncingDevice) and the checks say whether what
// it applied is every event, in order, exactly once.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/message_id.h"
#include "harness/broker_process.h"
#include "tests/harness/syncing_device.h"
#include "tests/harness/test_client.h"

namespace chat::harness {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Bulk tests send far faster than the default per-user rate (20/s, bursts of 100).
inline constexpr char kFastSends[] =
    "limits:\n  send_rate_per_second: 100000\n  send_burst: 1000000\n  request_rate_per_second: 100000\n"
    "  request_burst: 1000000\n";

inline std::string Password(const std::string& user) { return "pw-" + user; }

inline std::string Numbered(const char* prefix, int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%03d", prefix, i);
  return name;
}

// The error code of a reply, or a description of what came instead.
inline std::string Code(const std::optional<json>& reply) {
  if (!reply) return "(no reply)";
  if (reply->value("type", "") != "error") return "(not an error: " + reply->dump() + ")";
  return reply->value("code", "");
}

// The type of a reply ("group", "ok", "ack", ...), or "(no reply)".
inline std::string Type(const std::optional<json>& reply) { return reply ? reply->value("type", "") : "(no reply)"; }

inline std::vector<std::string> Sorted(const json& array) {
  std::vector<std::string> items;
  if (!array.is_array()) return items;
  for (const json& item : array) items.push_back(item.is_string() ? item.get<std::string>() : item.dump());
  std::sort(items.begin(), items.end());
  return items;
}

inline std::vector<std::string> Strings(std::initializer_list<const char*> items) {
  std::vector<std::string> out(items.begin(), items.end());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::string> IdsOf(const std::vector<json>& messages) {
  std::vector<std::string> ids;
  for (const json& m : messages) ids.push_back(m.value("id", ""));
  return ids;
}

// "" when the ids are valid and strictly increasing as numbers, else where they are not.
inline std::string CheckIncreasing(const std::vector<std::string>& ids) {
  std::optional<core::MessageId> previous;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto id = core::ParseMessageId(ids[i]);
    if (!id) return "bad id at " + std::to_string(i) + ": " + ids[i];
    if (previous && *id <= *previous) return "id at " + std::to_string(i) + " not above the one before: " + ids[i];
    previous = id;
  }
  return "";
}

// "" when the device applied seq first, first + 1, ... without a skip or a repeat, and saw no hole.
inline std::string CheckConsecutive(const SyncingDevice& device, std::int64_t first = 1) {
  std::int64_t expected = first;
  for (const AppliedEvent& applied : device.applied()) {
    if (applied.seq != expected) {
      return device.user() + ": applied seq " + std::to_string(applied.seq) + " where " + std::to_string(expected) +
             " was due";
    }
    ++expected;
  }
  if (device.holes() != 0) return device.user() + ": " + std::to_string(device.holes()) + " holes";
  return "";
}

// "" when every cmid occurs exactly once among `messages` and the set is `expected`.
inline std::string CheckExactlyOnce(const std::vector<json>& messages, const std::set<std::string>& expected) {
  std::map<std::string, int> seen;
  for (const json& m : messages) ++seen[m.value("cmid", "")];
  for (const auto& [cmid, count] : seen) {
    if (count != 1) return "cmid " + cmid + " applied " + std::to_string(count) + " times";
    if (!expected.count(cmid)) return "unexpected cmid " + cmid;
  }
  if (seen.size() != expected.size()) {
    for (const std::string& cmid : expected) {
      if (!seen.count(cmid))
        return "missing cmid " + cmid + " (" + std::to_string(seen.size()) + " of " + std::to_string(expected.size()) +
               " present)";
    }
  }
  return "";
}

// "" when each sender's messages appear in the order it sent them (cmid "<sender>-<n>").
inline std::string CheckPerSenderOrder(const std::vector<json>& messages) {
  std::map<std::string, int> last;
  for (const json& m : messages) {
    std::string cmid = m.value("cmid", "");
    std::size_t dash = cmid.rfind('-');
    if (dash == std::string::npos) return "cmid without a number: " + cmid;
    std::string sender = cmid.substr(0, dash);
    int n = std::stoi(cmid.substr(dash + 1));
    auto it = last.find(sender);
    if (it != last.end() && n <= it->second) return "sender " + sender + " out of order at " + cmid;
    last[sender] = n;
  }
  return "";
}

inline json GroupSend(const std::string& group, const std::string& text, const std::string& cmid) {
  return {{"group", group}, {"text", text}, {"cmid", cmid}};
}

// Runs the jobs at once, a thread each. With Paho C 1.3.12 a connect made while other clients of the
// process are connected waits about 2 s for the receive thread's next poll rounds
// (eclipse-paho/paho.mqtt.c#1430); connects that overlap share that wait, so tests connect together.
inline void InParallel(const std::vector<std::function<void()>>& jobs) {
  std::vector<std::thread> threads;
  for (const auto& job : jobs) threads.emplace_back(job);
  for (std::thread& t : threads) t.join();
}

struct DeviceSpec {
  std::string user;
  std::string device = "phone";
  int page_limit = 100;
  bool clean = true;
};

class GroupsSyncTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && broker_) {
      std::string log = broker_->log();
      if (log.size() > 3000) log = log.substr(log.size() - 3000);
      std::cerr << "broker log (tail):\n" << log << "\n";
    }
  }

  // A broker with these accounts and fast sends; `extra_limits` are more lines under "limits:". Users
  // are each other's contacts (the first with everyone, in a crowd), so they add each other to groups.
  void StartBroker(const std::vector<std::string>& users, const std::string& extra_limits = "") {
    broker_ = std::make_unique<BrokerProcess>(
        BrokerOptions{.extra_yaml = kFastSends + extra_limits, .extra_mosquitto_conf = ""});
    for (const std::string& user : users) ASSERT_EQ(broker_->AddUserOffline(user, Password(user)), "") << user;
    std::vector<std::pair<std::string, std::string>> contacts;
    for (std::size_t i = 0; i < users.size(); ++i) {
      for (std::size_t j = i + 1; j < users.size() && (i == 0 || users.size() <= 10); ++j) {
        contacts.emplace_back(users[i], users[j]);
      }
    }
    ASSERT_EQ(broker_->AddContactsOffline(contacts), "");
    ASSERT_EQ(broker_->Start(), "");
  }

  // Devices following the sync rules, connected (all at once), subscribed and synced, in `specs` order.
  std::vector<std::unique_ptr<SyncingDevice>> Devices(const std::vector<DeviceSpec>& specs) {
    std::vector<std::unique_ptr<SyncingDevice>> devices;
    std::vector<std::string> errors(specs.size());
    std::vector<std::function<void()>> jobs;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const DeviceSpec& spec = specs[i];
      devices.push_back(std::make_unique<SyncingDevice>(broker_->mqtt_uri(), spec.user, spec.device,
                                                        Password(spec.user), spec.page_limit));
      jobs.push_back([&, i] { errors[i] = devices[i]->Connect(specs[i].clean); });
    }
    InParallel(jobs);
    for (std::size_t i = 0; i < specs.size(); ++i) EXPECT_EQ(errors[i], "") << specs[i].user << ":" << specs[i].device;
    return devices;
  }

  std::unique_ptr<SyncingDevice> Device(const DeviceSpec& spec) { return std::move(Devices({spec})[0]); }

  // Creates a group; returns its id ("" after a failed expectation).
  std::string CreateGroup(SyncingDevice& owner, const std::string& name, const std::vector<std::string>& members) {
    auto reply = owner.Request("group_create", {{"name", name}, {"members", members}});
    EXPECT_TRUE(reply && reply->value("type", "") == "group") << (reply ? reply->dump() : "no reply");
    if (!reply || !(*reply)["group"].is_string()) return "";
    std::string id = (*reply)["group"];
    EXPECT_TRUE(core::ParseMessageId(id)) << "group id is not a decimal id: " << id;
    return id;
  }

  std::vector<std::string> MembersOf(SyncingDevice& asker, const std::string& group) {
    auto reply = asker.Request("group_members", {{"group", group}});
    EXPECT_TRUE(reply && reply->value("type", "") == "group") << (reply ? reply->dump() : "no reply");
    return reply ? Sorted((*reply)["members"]) : std::vector<std::string>{};
  }

  // Sends `per_sender` group messages from each sender, all senders at once (a thread each), and waits
  // for the chat ack of each (the message is stored; a PUBACK only says the server has it). cmid
  // "<sender>-<n>". Returns the cmids sent; a refused or lost send fails the test.
  std::set<std::string> SendConcurrently(const std::vector<std::string>& senders, const std::string& group,
                                         int per_sender) {
    std::atomic<int> failures{0};
    std::mutex first_failure_mutex;
    std::string first_failure;
    auto fail = [&](int count, const std::string& why) {
      failures += count;
      std::lock_guard<std::mutex> lock(first_failure_mutex);
      if (first_failure.empty()) first_failure = why;
    };
    std::vector<std::function<void()>> jobs;
    for (const std::string& sender : senders) {
      jobs.push_back([&, sender] {
        // A client of its own, without subscription: its acks reach it anyway (a reply goes to one
        // client id).
        ChatTestClient client(broker_->mqtt_uri(), sender, "sender");
        if (std::string error = client.Connect(Password(sender)); !error.empty()) {
          fail(per_sender, sender + " could not connect: " + error);
          return;
        }
        for (int n = 0; n < per_sender; ++n) {
          std::string cmid = sender + "-" + std::to_string(n);
          int rc = client.Publish("chat/v1/req/send", GroupSend(group, "text of " + cmid, cmid).dump());
          if (rc < 0 || rc >= 0x80) fail(1, cmid + ": PUBACK " + std::to_string(rc));
        }
        for (int acked = 0; acked < per_sender; ++acked) {
          // Events reach this client too (the server addresses every device of a member), acks come on
          // the reply topic.
          auto ack = client.WaitFor([](const Received& r) { return r.topic.ends_with("/reply") && r.json.is_object(); });
          if (!ack || ack->json.value("type", "") != "ack") fail(1, ack ? ack->json.dump() : sender + ": no chat ack");
        }
      });
    }
    InParallel(jobs);
    EXPECT_EQ(failures.load(), 0) << "sends refused, lost or not stored; the first: " << first_failure;
    std::set<std::string> cmids;
    for (const std::string& user : senders) {
      for (int n = 0; n < per_sender; ++n) cmids.insert(user + "-" + std::to_string(n));
    }
    return cmids;
  }

  std::unique_ptr<BrokerProcess> broker_;
};

inline auto IsGroupMessage(const std::string& group) {
  return [group](const json& e) { return e.value("type", "") == "message" && e.value("group", "") == group; };
}

}  // namespace chat::harness
