// `chatctl config check FILE`: validates a config without starting anything, with the start-up's
// messages, each naming the key at fault.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "harness/child_process.h"

namespace {

using chat::harness::CommandResult;
using Outcome = CommandResult;

Outcome RunChatctl(const std::string& arguments) {
  return chat::harness::RunCommand(std::string(CHATCTL_PATH) + " " + arguments);
}

Outcome CheckConfig(const std::string& yaml) {
  std::string dir = std::filesystem::temp_directory_path() / ("chatctl-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = dir + "/chat.yaml";
  std::ofstream(path) << yaml;
  Outcome outcome = RunChatctl("config check " + path);
  std::filesystem::remove_all(dir);
  return outcome;
}

TEST(ChatctlConfigCheckTest, AGoodFileIsOk) {
  Outcome outcome = CheckConfig("limits:\n  send_burst: 10\n");
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find(": ok"), std::string::npos) << outcome.output;
}

TEST(ChatctlConfigCheckTest, EachBrokenFileIsRefusedNamingItsKey) {
  // Each broken file and what the message must say (after "chatctl: bad config: <path>: ").
  const std::pair<const char*, const char*> kBroken[] = {
      {"limits:\n  max_mesage_chars: 5\n", "limits.max_mesage_chars: unknown setting; did you mean limits.max_message_chars?"},
      {"limts:\n  send_burst: 5\n", "limts: unknown setting; did you mean limits?"},
      {"presence:\n  timeout: 5\n", "presence.timeout: unknown setting; did you mean presence.timeout_seconds?"},
      {"colour: blue\n", "colour: unknown setting\n"},
      {"limits:\n  send_burst: 0\n", "limits.send_burst: must be 1..1000000, got 0"},
      {"limits:\n  send_burst: many\n", "limits.send_burst: must be a number, got \"many\""},
      {"node_id: 5000\n", "node_id: must be 0..1023, got 5000"},
      {"durability: never\n", "durability: must be process_crash or power_loss, got \"never\""},
      {"data_dir: [a, b]\n", "data_dir: must be a non-empty string"},
      {"auth: 7\n", "auth: must be a mapping"},
      {"push:\n  service_accounts: bridge\n", "push.service_accounts: must be a list of user ids"},
      {"limits:\n  send_burst: 5\n  send_burst: 6\n", "limits.send_burst: given twice"},
      {"presence:\n  timeout_seconds: 0\n", "presence.timeout_seconds: must be 1..3600, got 0"},
      {"auth:\n  hash_threads: 64\n", "auth.hash_threads: must be 1..16, got 64"},
      {"limits: {max_message_chars: 5\n", "not valid YAML"},
  };
  for (const auto& [yaml, expected] : kBroken) {
    Outcome outcome = CheckConfig(yaml);
    EXPECT_EQ(outcome.exit_code, 1) << yaml << "\n" << outcome.output;
    EXPECT_NE(outcome.output.find("bad config"), std::string::npos) << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << "for:\n" << yaml << "got: " << outcome.output;
  }
}

TEST(ChatctlConfigCheckTest, AMissingFileIsNamed) {
  Outcome outcome = RunChatctl("config check /nonexistent/chat.yaml");
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_NE(outcome.output.find("cannot read config file /nonexistent/chat.yaml"), std::string::npos) << outcome.output;
}

}  // namespace
