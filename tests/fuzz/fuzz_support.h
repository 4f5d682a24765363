// What the fuzz targets share: FUZZ_CHECK for the invariants they assert, views of the input, and a
// scratch folder for the targets that need files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <unistd.h>

// An invariant of the code under test. Unlike assert it holds under NDEBUG too, and it prints the broken
// condition, so the crash libFuzzer records says which promise failed.
#define FUZZ_CHECK(condition)                                                                   \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition);     \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace chat::fuzz {

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Whether `part`, a view a parser returned, points into `whole`, the text it was given.
inline bool IsWithin(std::string_view part, std::string_view whole) {
  std::less_equal<const char*> not_after;
  return not_after(whole.data(), part.data()) && not_after(part.data() + part.size(), whole.data() + whole.size());
}

// A folder of this process's own, made on first use and removed at exit. On tmpfs when the machine has
// one: the code under test syncs its files, which on a disk would make each input take milliseconds.
inline const std::string& ScratchDir() {
  static const struct Folder {
    Folder() {
      std::string parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::filesystem::temp_directory_path().string();
      std::string pattern = parent + "/chat-fuzz-XXXXXX";
      if (mkdtemp(pattern.data()) == nullptr) std::abort();
      path = pattern;
    }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
    std::string path;
  } folder;
  return folder.path;
}

}  // namespace chat::fuzz
