#include "core/account_commands.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "storage/rocksdb_store.h"
#include "tests/core/fake_clock.h"
#include "tests/core/temp_dir.h"

namespace chat::core {
namespace {

using nlohmann::json;

TEST(AccountCommandsTest, RunsEachCommandAndReportsErrorsPerCommand) {
  testing::TempDir dir;
  auto store = std::move(*storage::RocksDbStore::Open(dir.path(), Durability::kProcessCrash));
  FakeClock clock;
  AuthSettings settings;
  settings.pbkdf2_iterations = 1000;
  AccountService accounts(*store, clock, settings);
  json request = {{"commands",
                   {{{"command", "addUser"}, {"username", "carol"}, {"password", "pw"}, {"correlationData", "7"}},
                    {{"command", "addUser"}, {"username", "carol"}, {"password", "pw"}},
                    {{"command", "addUser"}, {"username", "dave"}, {"password", "pw"}, {"admin", "yes"}},
                    {{"command", "listUsers"}},
                    {{"command", "deleteUser"}, {"username", "carol"}},
                    {{"command", "explode"}}}}};
  json response = json::parse(RunAccountCommands(accounts, request.dump()));
  const json& r = response["responses"];
  ASSERT_EQ(r.size(), 6u);
  EXPECT_FALSE(r[0].contains("error"));
  EXPECT_EQ(r[0]["correlationData"], "7");
  EXPECT_TRUE(r[1].contains("error"));
  EXPECT_FALSE(r[2].contains("error"));  // a non-boolean "admin" means not admin
  EXPECT_EQ(r[3]["data"]["users"], json::parse(R"([{"username":"carol","admin":false},{"username":"dave","admin":false}])"));
  EXPECT_FALSE(r[4].contains("error"));
  EXPECT_TRUE(r[5].contains("error"));
}

TEST(AccountCommandsTest, MalformedDocumentsGetAnErrorResponse) {
  testing::TempDir dir;
  auto store = std::move(*storage::RocksDbStore::Open(dir.path(), Durability::kProcessCrash));
  FakeClock clock;
  AuthSettings settings;  // borrowed by the service
  AccountService accounts(*store, clock, settings);
  for (const char* bad : {"", "nope", "[]", "{}", "{\"commands\":5}", "{\"commands\":[5]}"}) {
    json response = json::parse(RunAccountCommands(accounts, bad));
    ASSERT_EQ(response["responses"].size(), 1u) << bad;
    EXPECT_TRUE(response["responses"][0].contains("error")) << bad;
  }
}

}  // namespace
}  // namespace chat::core
