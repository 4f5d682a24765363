// $CONTROL/chat-accounts/v1 command documents, run against a real RocksDB store. Only admins may
// publish there, but the handler runs on the broker thread: nothing an admin (or a stolen admin
// password) sends may crash it, stall it or put a name in the store that the rest of the server refuses.
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/account_commands.h"
#include "core/names.h"
#include "storage/rocksdb_store.h"
#include "tests/core/fake_clock.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat::core {
namespace {

using nlohmann::json;

// Accounts every input starts with, so that setPassword, deleteUser and listUsers find someone.
constexpr const char* kExistingUsers[] = {"alice", "root"};
constexpr std::size_t kMaxCommands = 100;
constexpr std::size_t kMaxHashingCommands = 10;  // addUser and setPassword each cost a PBKDF2

// The store for the next input, holding only kExistingUsers. Opening a database costs milliseconds, so
// one serves many inputs, emptied after each; but every deleted account leaves a tombstone that each
// listing steps over, so after a while a new database replaces it.
std::unique_ptr<storage::RocksDbStore> OpenEmptyStore() {
  const std::string path = fuzz::ScratchDir() + "/db";
  std::filesystem::remove_all(path);
  auto opened = storage::RocksDbStore::Open(path, Durability::kProcessCrash);
  FUZZ_CHECK(opened.ok());
  return std::move(*opened);
}

Store& StoreForNextInput() {
  constexpr int kInputsPerDatabase = 2000;
  // Made by its first Open, so it is destroyed at exit before the statics RocksDB creates on that Open.
  static std::unique_ptr<storage::RocksDbStore> store = OpenEmptyStore();
  static int inputs = 0;
  if (++inputs % kInputsPerDatabase == 0) {
    store.reset();
    store = OpenEmptyStore();
  }
  Result<std::vector<std::string>> users = store->ListUsers("", 1000000);
  FUZZ_CHECK(users.ok());
  for (const std::string& user : *users) FUZZ_CHECK(store->DeleteUser(user).ok());
  for (const char* user : kExistingUsers) {
    UserRecord record;
    record.user_id = user;
    record.password = {1, "salt", "digest"};
    record.is_admin = std::string_view(user) == "root";
    FUZZ_CHECK(store->PutUser(record).ok());
  }
  return *store;
}

void CheckResponse(const json& response) {
  FUZZ_CHECK(response.is_object());
  if (response.contains("error")) FUZZ_CHECK(response["error"].is_string());
  if (response.contains("correlationData")) {
    FUZZ_CHECK(response["correlationData"].is_string() && response["correlationData"].get<std::string>().size() <= 256);
  }
  if (!response.contains("data")) return;
  std::string previous;
  for (const json& user : response.at("data").at("users")) {
    // A listing carries names and roles, never a password hash.
    FUZZ_CHECK(user.size() == 2 && user["username"].is_string() && user["admin"].is_boolean());
    std::string name = user["username"].get<std::string>();
    FUZZ_CHECK(name > previous);
    previous = name;
  }
}

// Commands that made the store hash a password.
std::size_t HashingCommands(const json& responses) {
  std::size_t count = 0;
  for (const json& response : responses) {
    std::string command = response.value("command", "");
    if ((command == "addUser" || command == "setPassword") && !response.contains("error")) ++count;
  }
  return count;
}

}  // namespace
}  // namespace chat::core

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chat::core;
  Store& store = StoreForNextInput();
  FakeClock clock;
  AuthSettings settings;
  settings.pbkdf2_iterations = 1;  // the cost is not under test; the number of hashes is
  AccountService accounts(store, clock, settings);

  std::string reply = RunAccountCommands(accounts, chat::fuzz::AsText(data, size));
  nlohmann::json document = nlohmann::json::parse(reply, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(document.is_object() && document.size() == 1 && document.contains("responses"));
  const nlohmann::json& responses = document["responses"];
  FUZZ_CHECK(responses.is_array() && !responses.empty() && responses.size() <= kMaxCommands);
  for (const nlohmann::json& response : responses) CheckResponse(response);
  FUZZ_CHECK(HashingCommands(responses) <= kMaxHashingCommands);

  Result<std::vector<std::string>> users = store.ListUsers("", 1000000);
  FUZZ_CHECK(users.ok());
  for (const std::string& user : *users) FUZZ_CHECK(ValidateUserId(user).ok());
  return 0;
}
