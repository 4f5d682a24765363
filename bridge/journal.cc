// The journal file: flock-guarded appends with fdatasync, incremental reads of other writers' lines, and
// compaction by write-new-then-rename so a crash at any point leaves one complete file.
#include "bridge/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace chat::bridge {
namespace {

using core::Status;
using nlohmann::json;

Status IoError(std::string what) { return Status::Error(core::ErrorCode::kIoError, std::move(what)); }
Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

std::optional<TargetState> ParseState(const std::string& name) {
  if (name == "accepted") return TargetState::kAccepted;
  if (name == "invalid_token") return TargetState::kInvalidToken;
  if (name == "failed") return TargetState::kFailed;
  return std::nullopt;
}

std::string TargetLine(std::int64_t ms, const std::string& job_id, const std::string& device, TargetState state) {
  return json({{"t", ms}, {"job", job_id}, {"device", device}, {"state", TargetStateName(state)}}).dump() + "\n";
}

std::string ResultLine(std::int64_t ms, const std::string& job_id, const JobResult& result) {
  return json({{"t", ms},
               {"job", job_id},
               {"outcome", result.sent ? "sent" : "failed"},
               {"invalid_devices", result.invalid_devices}})
             .dump() +
         "\n";
}

// Makes a rename or a new file in `dir` durable.
void SyncDirectory(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path().string();
  int fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

bool WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

const char* TargetStateName(TargetState state) {
  switch (state) {
    case TargetState::kAccepted:
      return "accepted";
    case TargetState::kInvalidToken:
      return "invalid_token";
    case TargetState::kFailed:
      return "failed";
  }
  return "failed";
}

core::Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path, std::chrono::hours retention,
                                                     const core::Clock& clock) {
  std::unique_ptr<Journal> journal(new Journal(path, retention, clock));
  Status s = journal->OpenFile();
  if (s.ok()) s = journal->Compact();  // also loads the file
  if (!s.ok()) return Status::Error(s.code(), "journal " + path + ": " + s.message());
  return journal;
}

Journal::~Journal() {
  if (fd_ >= 0) close(fd_);
}

Status Journal::OpenFile() {
  bool existed = access(path_.c_str(), F_OK) == 0;
  // O_APPEND: every write lands at the end even with other writers; 0600: job ids and device names are
  // nobody else's business.
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return Errno("cannot open");
  if (!existed) SyncDirectory(path_);
  read_offset_ = 0;
  entries_.clear();
  job_count_ = 0;
  return Status::Ok();
}

Status Journal::Lock(int operation) {
  for (int reopened = 0;; ++reopened) {
    while (flock(fd_, operation) != 0) {
      if (errno != EINTR) return Errno("flock");
    }
    struct stat held {};
    struct stat named {};
    if (fstat(fd_, &held) == 0 && stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
        held.st_dev == named.st_dev) {
      break;
    }
    // Another process compacted (renamed a new file over ours): everything live was copied into the
    // new file, so start over from it.
    Unlock();
    close(fd_);
    fd_ = -1;
    if (reopened > 100) return IoError("the file keeps being replaced");
    if (Status s = OpenFile(); !s.ok()) return s;
  }
  if (Status s = ReadNew(operation == LOCK_EX); !s.ok()) {
    Unlock();
    return s;
  }
  return Status::Ok();
}

void Journal::Unlock() { flock(fd_, LOCK_UN); }

Status Journal::ReadNew(bool exclusive) {
  struct stat st {};
  if (fstat(fd_, &st) != 0) return Errno("fstat");
  if (st.st_size < read_offset_) {
    // Shorter than what was read: only a torn tail is ever cut, and that was never counted as read,
    // so the file was replaced in place by hand. Read it again from the start.
    read_offset_ = 0;
    entries_.clear();
  }
  std::string data;
  data.resize(static_cast<std::size_t>(st.st_size - read_offset_));
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pread(fd_, data.data() + done, data.size() - done, read_offset_ + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  data.resize(done);
  std::size_t start = 0;
  for (std::size_t end = data.find('\n'); end != std::string::npos; end = data.find('\n', start)) {
    Apply(data.substr(start, end - start));
    start = end + 1;
  }
  read_offset_ += static_cast<off_t>(start);
  if (start < data.size() && exclusive) {
    // Nobody else can be writing (we hold the exclusive lock), so this is a line a crash cut short.
    // Its job was never acted on; drop it so the next line does not glue onto it.
    if (ftruncate(fd_, read_offset_) != 0) return Errno("truncate a torn last line");
  }
  job_count_ = entries_.size();
  return Status::Ok();
}

void Journal::Apply(const std::string& line) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("job") || !doc["job"].is_string() || !doc.contains("t") ||
      !doc["t"].is_number_integer()) {
    ++bad_lines_;
    return;
  }
  std::string job_id = doc["job"].get<std::string>();
  std::int64_t ms = doc["t"].get<std::int64_t>();
  if (doc.contains("device")) {
    std::optional<TargetState> state = doc["device"].is_string() && doc.contains("state") && doc["state"].is_string()
                                           ? ParseState(doc["state"].get<std::string>())
                                           : std::nullopt;
    if (!state) {
      ++bad_lines_;
      return;
    }
    JournalEntry& entry = entries_[job_id];
    entry.targets[doc["device"].get<std::string>()] = *state;
    entry.last_ms = std::max(entry.last_ms, ms);
  } else if (doc.contains("outcome") && doc["outcome"].is_string()) {
    JobResult result;
    result.sent = doc["outcome"].get<std::string>() == "sent";
    if (doc.contains("invalid_devices") && doc["invalid_devices"].is_array()) {
      for (const json& device : doc["invalid_devices"]) {
        if (device.is_string()) result.invalid_devices.push_back(device.get<std::string>());
      }
    }
    JournalEntry& entry = entries_[job_id];
    entry.result = std::move(result);
    entry.last_ms = std::max(entry.last_ms, ms);
  } else {
    ++bad_lines_;
  }
}

std::optional<JournalEntry> Journal::Find(const std::string& job_id) {
  // When the file cannot be read now, answer from what is loaded: the best knowledge there is.
  bool locked = Lock(LOCK_SH).ok();
  std::optional<JournalEntry> found;
  if (auto it = entries_.find(job_id); it != entries_.end()) found = it->second;
  if (locked) Unlock();
  return found;
}

Status Journal::Append(const std::string& line) {
  if (Status s = Lock(LOCK_EX); !s.ok()) return s;
  Status error;
  if (!WriteAll(fd_, line)) {
    error = Errno("write");
    // Leave no partial line behind (a full disk can cut a write short).
    if (ftruncate(fd_, read_offset_) != 0) {
      error = IoError(error.message() + " (and the partial line could not be removed)");
    }
  } else if (fdatasync(fd_) != 0) {
    error = Errno("fdatasync");
  } else {
    read_offset_ += static_cast<off_t>(line.size());
  }
  // Remember it even when it could not be made durable: this process must not send it again either.
  Apply(line.substr(0, line.size() - 1));
  job_count_ = entries_.size();
  Unlock();
  return error;
}

Status Journal::RecordTarget(const std::string& job_id, const std::string& device, TargetState state) {
  return Append(TargetLine(clock_.NowMillis(), job_id, device, state));
}

Status Journal::RecordResult(const std::string& job_id, const JobResult& result) {
  return Append(ResultLine(clock_.NowMillis(), job_id, result));
}

Status Journal::Compact() {
  if (Status s = Lock(LOCK_EX); !s.ok()) return s;
  Status s = CompactLocked();
  Unlock();
  return s;
}

Status Journal::CompactLocked() {
  std::int64_t cutoff = clock_.NowMillis() - std::chrono::duration_cast<std::chrono::milliseconds>(retention_).count();
  bool expired = false;
  for (const auto& [job_id, entry] : entries_) expired = expired || entry.last_ms < cutoff;
  if (!expired) return Status::Ok();

  std::string text;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.last_ms < cutoff) {
      it = entries_.erase(it);
      continue;
    }
    for (const auto& [device, state] : it->second.targets)
      text += TargetLine(it->second.last_ms, it->first, device, state);
    if (it->second.result) text += ResultLine(it->second.last_ms, it->first, *it->second.result);
    ++it;
  }
  // Under our exclusive lock on the current file nobody else compacts or appends, so one fixed
  // temporary name is enough.
  std::string temp = path_ + ".compact";
  int out = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return Errno("cannot create " + temp);
  struct stat written {};
  if (!WriteAll(out, text) || fsync(out) != 0 || fstat(out, &written) != 0) {
    Status s = Errno("cannot write " + temp);
    close(out);
    unlink(temp.c_str());
    return s;
  }
  close(out);
  if (rename(temp.c_str(), path_.c_str()) != 0) {
    Status s = Errno("cannot rename " + temp);
    unlink(temp.c_str());
    return s;
  }
  SyncDirectory(path_);
  int fresh = open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fresh < 0) return Errno("cannot reopen");
  // The old file's lock goes with its descriptor; others waiting on it then see the new inode. Lines
  // appended to the new file by others from now on are read from the end of what was written here.
  while (flock(fresh, LOCK_EX) != 0 && errno == EINTR) {
  }
  Unlock();
  close(fd_);
  fd_ = fresh;
  read_offset_ = static_cast<off_t>(text.size());
  struct stat opened {};
  if (fstat(fd_, &opened) != 0 || opened.st_ino != written.st_ino || opened.st_dev != written.st_dev) {
    // Someone compacted again in between (renamed yet another file over ours): read theirs whole.
    read_offset_ = 0;
    entries_.clear();
    return ReadNew(/*exclusive=*/true);
  }
  job_count_ = entries_.size();
  return Status::Ok();
}

}  // namespace chat::bridge
