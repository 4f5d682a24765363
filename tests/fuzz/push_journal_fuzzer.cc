// The push bridge's journal file as a bridge finds it at start-up: written by itself and by other
// instances, maybe cut short by a crash or damaged. Whatever it holds, the bridge must load it, and an
// outcome recorded after that must survive a reload: it is what keeps an accepted push from being sent
// twice. Input: the file's contents.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "bridge/journal.h"
#include "tests/core/fake_clock.h"
#include "tests/fuzz/fuzz_support.h"

namespace chat::bridge {
namespace {

constexpr std::chrono::hours kRetention{168};

void WriteFile(const std::string& path, std::string_view contents) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  close(fd);
}

void CheckRecorded(Journal& journal, const std::string& job, const std::string& device, const JobResult& result) {
  std::optional<JournalEntry> entry = journal.Find(job);
  FUZZ_CHECK(entry.has_value());
  auto target = entry->targets.find(device);
  FUZZ_CHECK(target != entry->targets.end() && target->second == TargetState::kAccepted);
  FUZZ_CHECK(entry->result.has_value() && entry->result->sent == result.sent &&
             entry->result->invalid_devices == result.invalid_devices);
}

}  // namespace
}  // namespace chat::bridge

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace chat::bridge;
  std::string_view contents = chat::fuzz::AsText(data, size);
  const std::string path = chat::fuzz::ScratchDir() + "/journal";
  WriteFile(path, contents);
  chat::core::FakeClock clock;

  auto journal = Journal::Open(path, kRetention, clock);
  FUZZ_CHECK(journal.ok());
  // Each complete line is one job's line or one bad line; a torn last line is neither.
  auto lines = static_cast<std::size_t>(std::count(contents.begin(), contents.end(), '\n'));
  FUZZ_CHECK((*journal)->job_count() + (*journal)->bad_lines() <= lines);

  const std::string job = "fuzz-job";
  const std::string device = "fuzz-device";
  JobResult result{true, {"dead-phone"}};
  FUZZ_CHECK((*journal)->RecordTarget(job, device, TargetState::kAccepted).ok());
  FUZZ_CHECK((*journal)->RecordResult(job, result).ok());
  CheckRecorded(**journal, job, device, result);

  auto reloaded = Journal::Open(path, kRetention, clock);
  FUZZ_CHECK(reloaded.ok());
  CheckRecorded(**reloaded, job, device, result);
  FUZZ_CHECK((*reloaded)->job_count() == (*journal)->job_count());
  return 0;
}
