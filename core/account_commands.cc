#include "core/account_commands.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace chat::core {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxCommandsPerRequest = 100;
constexpr std::size_t kMaxListPage = 1000;
// addUser and setPassword each hash a password (tens of ms on the broker thread).
constexpr std::size_t kMaxHashingCommands = 10;

std::string StringField(const json& command, const char* name) {
  if (!command.is_object()) return {};
  auto it = command.find(name);
  return it != command.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json RunOne(AccountService& accounts, const json& command) {
  json response = json::object();
  if (!command.is_object()) {
    response["error"] = "command must be an object";
    return response;
  }
  std::string name = StringField(command, "command");
  response["command"] = name;
  // Echoed only as a short string: an arbitrary (deeply nested) value would be copied and dumped
  // recursively on the broker thread.
  if (auto it = command.find("correlationData"); it != command.end() && it->is_string() &&
                                                  it->get_ref<const std::string&>().size() <= 256) {
    response["correlationData"] = *it;
  }
  std::string user = StringField(command, "username");
  Status status;
  if (name == "addUser") {
    auto admin = command.find("admin");
    bool is_admin = admin != command.end() && admin->is_boolean() && admin->get<bool>();
    status = accounts.AddUser(user, StringField(command, "password"), is_admin);
  } else if (name == "setPassword") {
    status = accounts.SetPassword(user, StringField(command, "password"));
  } else if (name == "deleteUser") {
    status = accounts.DeleteUser(user);
  } else if (name == "revokeResumeTokens") {
    status = accounts.RevokeResumeTokens(user);
  } else if (name == "listUsers") {
    std::size_t count = kMaxListPage;
    if (auto it = command.find("count"); it != command.end() && it->is_number_unsigned()) {
      count = std::min<std::size_t>(it->get<std::size_t>(), kMaxListPage);
    }
    Result<std::vector<UserRecord>> users = accounts.ListUsers(StringField(command, "after"), count);
    if (users.ok()) {
      json list = json::array();
      for (const UserRecord& u : *users) list.push_back({{"username", u.user_id}, {"admin", u.is_admin}});
      response["data"] = {{"users", std::move(list)}};
    }
    status = users.ok() ? Status::Ok() : users.status();
  } else {
    status = Status::Error(ErrorCode::kBadRequest, "unknown command");
  }
  if (!status.ok()) response["error"] = status.ToString();
  return response;
}

}  // namespace

std::string RunAccountCommands(AccountService& accounts, std::string_view payload) {
  json request = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  json responses = json::array();
  auto commands = request.is_object() ? request.find("commands") : request.end();
  if (request.is_discarded() || !request.is_object() || commands == request.end() || !commands->is_array()) {
    responses.push_back({{"error", "payload must be {\"commands\":[...]}"}});
  } else if (commands->size() > kMaxCommandsPerRequest) {
    responses.push_back({{"error", "at most 100 commands per request"}});
  } else if (std::count_if(commands->begin(), commands->end(), [](const json& c) {
               std::string name = StringField(c, "command");
               return name == "addUser" || name == "setPassword";
             }) > static_cast<std::ptrdiff_t>(kMaxHashingCommands)) {
    responses.push_back({{"error", "at most 10 addUser/setPassword commands per request"}});
  } else {
    for (const json& command : *commands) responses.push_back(RunOne(accounts, command));
  }
  return json{{"responses", std::move(responses)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace chat::core
