// Journal: the bridge's memory of final delivery outcomes, an append-only file of JSON lines, each
// fdatasync'd before the bridge acts on it, so a job a provider accepted is never sent again, also after
// a crash, a restart, or when another bridge instance on the same host gets the job offered again.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "bridge/push_job.h"
#include "core/clock.h"
#include "core/status.h"

namespace chat::bridge {

// A delivery's final state. Only final states are journaled: a target being retried is not.
enum class TargetState { kAccepted, kInvalidToken, kFailed };

struct JournalEntry {
  std::int64_t last_ms = 0;                    // wall-clock time of the newest line about the job
  std::map<std::string, TargetState> targets;  // by device
  std::optional<JobResult> result;             // set once the whole job is final
};

// File format, one JSON object per line:
//   {"t":<ms>,"job":"<id>","device":"<device>","state":"accepted"|"invalid_token"|"failed"}
//   {"t":<ms>,"job":"<id>","outcome":"sent"|"failed","invalid_devices":[...]}
// Several processes may share one file: every read and append holds flock() on it (shared to read,
// exclusive to append) and first reads what the others appended since; a compaction writes a new file
// and renames it over the old one, which the others notice (the path's inode changed) and reload. A
// line cut short by a crash is never acted on: it has no newline, and the next append truncates it.
// flock must work on the filesystem (local disks do; some network filesystems do not).
class Journal {
 public:
  // Opens or creates the file, loads it, and drops entries older than `retention`. kIoError naming the
  // path on failure. Lines are stamped with `clock`'s wall time; `clock` must outlive the journal.
  static core::Result<std::unique_ptr<Journal>> Open(const std::string& path, std::chrono::hours retention,
                                                     const core::Clock& clock);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // What the journal (this process's and the other writers' lines) knows about a job.
  std::optional<JournalEntry> Find(const std::string& job_id);

  // Append one line and fdatasync it; kIoError when that failed (the line is then not in the file).
  core::Status RecordTarget(const std::string& job_id, const std::string& device, TargetState state);
  core::Status RecordResult(const std::string& job_id, const JobResult& result);

  // Rewrites the file without entries older than the retention, if there are any. Open does it too.
  core::Status Compact();

  std::size_t job_count() const { return job_count_.load(); }
  // Lines that could not be understood (skipped) since Open.
  std::size_t bad_lines() const { return bad_lines_; }

 private:
  Journal(std::string path, std::chrono::hours retention, const core::Clock& clock)
      : path_(std::move(path)), retention_(retention), clock_(clock) {}

  core::Status OpenFile();
  // Takes flock(`operation`) on the file the path names now, reopening and reloading when it was
  // replaced, then reads the lines appended since the last read.
  core::Status Lock(int operation);
  void Unlock();
  core::Status ReadNew(bool exclusive);
  void Apply(const std::string& line);
  core::Status Append(const std::string& line);
  core::Status CompactLocked();

  std::string path_;
  std::chrono::hours retention_;
  const core::Clock& clock_;
  int fd_ = -1;
  off_t read_offset_ = 0;  // everything before it is parsed, and ends with a newline
  std::map<std::string, JournalEntry> entries_;
  std::atomic<std::size_t> job_count_{0};
  std::size_t bad_lines_ = 0;
};

const char* TargetStateName(TargetState state);

}  // namespace chat::bridge
