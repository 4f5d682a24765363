// TempDir: a temporary folder for a test's real RocksDB, removed when the test ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace chat::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/chat-test-XXXXXX";
    path_ = mkdtemp(pattern) ? pattern : "";
    if (path_.empty()) std::abort();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace chat::testing
