#include "plugins/admin_job_runner.h"

#include <exception>
#include <utility>

namespace chat::plugin {

AdminJobRunner::~AdminJobRunner() {
  if (thread_.joinable()) thread_.join();
}

bool AdminJobRunner::Start(std::string client_id, core::AdminCommand command) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) return false;
    running_ = true;
  }
  if (thread_.joinable()) thread_.join();  // the previous task's thread, which has ended
  thread_ = std::thread([this, client_id = std::move(client_id), command = std::move(command)]() mutable {
    core::AdminOutcome outcome;
    try {
      outcome = core::RunAdminCommand(store_, command);
    } catch (const std::exception& e) {  // an exception here would end the broker (std::terminate)
      outcome.status = core::Status::Error(core::ErrorCode::kInternal, e.what());
    } catch (...) {
      outcome.status = core::Status::Error(core::ErrorCode::kInternal, "unknown exception");
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_ = Finished{std::move(client_id), std::move(command), std::move(outcome)};
    }
    waker_.Wake(/*always=*/true);
  });
  return true;
}

std::optional<AdminJobRunner::Finished> AdminJobRunner::TakeFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<Finished> finished = std::move(finished_);
  finished_.reset();
  // Only now may the next task start: its result cannot take the place of one not yet answered.
  if (finished) running_ = false;
  return finished;
}

}  // namespace chat::plugin
