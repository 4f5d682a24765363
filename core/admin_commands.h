// The JSON format of $CONTROL/chat-admin/v1, operator tasks on the running server:
//   {"command":"backup","dir":"/var/backups/chat/2026-12-07"}   a consistent copy of the store
//   {"command":"stats"}                                           sizes by table, users, groups, messages
//   {"command":"retention"}                                       the retention sweep, now
// answered on $CONTROL/chat-admin/v1/response, to the requesting client only, once the task is done:
//   {"command":"backup","dir":"...","ok":true,"seconds":0.42}
//   or {"command":"backup","error":"...","code":"busy"} (busy: another task runs; ask again shortly)
// The tasks are slow (they copy or read the whole store): they run on a thread of their own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/store.h"

namespace chat::core {

struct AdminCommand {
  std::string command;  // "backup", "stats" or "retention"
  std::string dir;      // backup: an absolute path that does not exist yet
  // retention: what has expired, from the server's settings and clock when the task starts (not parsed)
  RetentionCutoffs cutoffs;
};

// kBadRequest, saying what is wrong, for anything but a known command with its fields.
Result<AdminCommand> ParseAdminCommand(std::string_view payload);

struct AdminOutcome {
  Status status;
  double seconds = 0;
  std::optional<StoreStatistics> stats;  // stats
  std::optional<RetentionSwept> swept;   // retention
};

// Runs `command` on `store` (from a thread other than the broker's) and times it.
AdminOutcome RunAdminCommand(Store& store, const AdminCommand& command);

// The response document for `command` (parsed or not: `command.command` may be empty) and its outcome.
std::string AdminResponse(const AdminCommand& command, const AdminOutcome& outcome);

}  // namespace chat::core
