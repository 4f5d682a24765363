#include "core/admin_commands.h"

#include <chrono>

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
  if (parsed.command == "stats" || parsed.command == "retention") return parsed;
  if (parsed.command != "backup") {
    return Status::Error(ErrorCode::kBadRequest, "unknown command " + parsed.command + " (backup, stats, retention)");
  }
  auto dir = request.find("dir");
  if (dir == request.end() || !dir->is_string() || dir->get<std::string>().empty() ||
      dir->get<std::string>().front() != '/') {
    return Status::Error(ErrorCode::kBadRequest, "\"dir\" (an absolute path) is required");
  }
  parsed.dir = dir->get<std::string>();
  if (parsed.dir.find('\0') != std::string::npos) return Status::Error(ErrorCode::kBadRequest, "\"dir\" holds a NUL");
  return parsed;
}

AdminOutcome RunAdminCommand(Store& store, const AdminCommand& command) {
  auto started = std::chrono::steady_clock::now();
  AdminOutcome outcome;
  if (command.command == "backup") {
    outcome.status = store.Checkpoint(command.dir);
  } else if (command.command == "stats") {
    Result<StoreStatistics> stats = store.Statistics();
    outcome.status = stats.status();
    if (stats.ok()) outcome.stats = std::move(*stats);
  } else if (command.command == "retention") {
    if (command.cutoffs.messages_before_ms == 0 && command.cutoffs.queue_before_ms == 0) {
      outcome.status = Status::Error(ErrorCode::kInvalidArgument,
                                     "retention is off (retention.history_days and queue_days are 0)");
    } else {
      Result<RetentionSwept> swept = store.ApplyRetention(command.cutoffs);
      outcome.status = swept.status();
      if (swept.ok()) outcome.swept = *swept;
    }
  } else {
    outcome.status = Status::Error(ErrorCode::kBadRequest, "unknown command " + command.command);
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return outcome;
}

std::string AdminResponse(const AdminCommand& command, const AdminOutcome& outcome) {
  json response = {{"command", command.command}};
  if (!command.dir.empty()) response["dir"] = command.dir;
  if (!outcome.status.ok()) {
    response["error"] = outcome.status.message();
    response["code"] = ErrorCodeName(outcome.status.code());
    return response.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  response["ok"] = true;
  response["seconds"] = outcome.seconds;
  if (outcome.stats) {
    json tables = json::object();
    for (const StoreStatistics::Table& table : outcome.stats->tables) tables[table.name] = table.bytes;
    response["table_bytes"] = std::move(tables);
    response["users"] = outcome.stats->users;
    response["groups"] = outcome.stats->groups;
    response["messages"] = outcome.stats->messages;
  }
  if (outcome.swept) {
    response["messages_removed"] = outcome.swept->messages;
    response["queue_entries_removed"] = outcome.swept->queue_entries;
  }
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace chat::core
