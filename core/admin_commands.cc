#include "core/admin_commands.h"

#include <nlohmann/json.hpp>

namespace chat::core {

using nlohmann::json;

Result<AdminCommand> ParseAdminCommand(std::string_view payload) {
  json request = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) return Status::Error(ErrorCode::kBadRequest, "a JSON object is required");
  auto command = request.find("command");
  if (command == request.end() || !command->is_string()) {
    return Status::Error(ErrorCode::kBadRequest, "\"command\" (a string) is required");
  }
  AdminCommand parsed;
  parsed.command = command->get<std::string>();
  if (parsed.command != "backup") return Status::Error(ErrorCode::kBadRequest, "unknown command " + parsed.command);
  auto dir = request.find("dir");
  if (dir == request.end() || !dir->is_string() || dir->get<std::string>().empty() ||
      dir->get<std::string>().front() != '/') {
    return Status::Error(ErrorCode::kBadRequest, "\"dir\" (an absolute path) is required");
  }
  parsed.dir = dir->get<std::string>();
  if (parsed.dir.find('\0') != std::string::npos) return Status::Error(ErrorCode::kBadRequest, "\"dir\" holds a NUL");
  return parsed;
}

std::string AdminResponse(const AdminCommand& command, const Status& outcome, double seconds) {
  json response = {{"command", command.command}};
  if (!command.dir.empty()) response["dir"] = command.dir;
  if (outcome.ok()) {
    response["ok"] = true;
    response["seconds"] = seconds;
  } else {
    response["error"] = outcome.message();
  }
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace chat::core
