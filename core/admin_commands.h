// The JSON format of $CONTROL/chat-admin/v1, operator tasks on the running server:
//   {"command":"backup","dir":"/var/backups/chat/2026-12-07"}
// answered on $CONTROL/chat-admin/v1/response, to the requesting client only, once the task is done:
//   {"command":"backup","dir":"...","ok":true,"seconds":0.42}  or  {"command":"backup","error":"..."}
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace chat::core {

struct AdminCommand {
  std::string command;  // "backup"
  std::string dir;      // an absolute path that does not exist yet
};

// kBadRequest, saying what is wrong, for anything but a known command with its fields.
Result<AdminCommand> ParseAdminCommand(std::string_view payload);

// The response document for `command` (parsed or not: `command.command` may be empty) and its outcome.
std::string AdminResponse(const AdminCommand& command, const Status& outcome, double seconds);

}  // namespace chat::core
