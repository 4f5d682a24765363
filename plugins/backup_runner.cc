#include "plugins/backup_runner.h"

#include <exception>
#include <utility>

namespace chat::plugin {

BackupRunner::~BackupRunner() {
  if (thread_.joinable()) thread_.join();
}

bool BackupRunner::Start(std::string client_id, core::AdminCommand command) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) return false;
    running_ = true;
  }
  if (thread_.joinable()) thread_.join();  // the previous backup's thread, which has ended
  thread_ = std::thread([this, client_id = std::move(client_id), command = std::move(command)]() mutable {
    auto started = std::chrono::steady_clock::now();
    core::Status outcome;
    try {
      outcome = store_.Checkpoint(command.dir);
    } catch (const std::exception& e) {  // an exception here would end the broker (std::terminate)
      outcome = core::Status::Error(core::ErrorCode::kInternal, e.what());
    } catch (...) {
      outcome = core::Status::Error(core::ErrorCode::kInternal, "unknown exception");
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_ = Finished{std::move(client_id), std::move(command), std::move(outcome), seconds};
    }
    waker_.Wake(/*always=*/true);
  });
  return true;
}

std::optional<BackupRunner::Finished> BackupRunner::TakeFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<Finished> finished = std::move(finished_);
  finished_.reset();
  // Only now may the next backup start: its result cannot take the place of one not yet answered.
  if (finished) running_ = false;
  return finished;
}

}  // namespace chat::plugin
