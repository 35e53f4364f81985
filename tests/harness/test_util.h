#pragma once
// Shared helpers for harness tests: temporary directories and running the moebench binary.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace moebench::testing {

// A fresh directory under the test temp dir, removed at destruction.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "moebench-test-XXXXXX").string();
    const char* p = ::mkdtemp(tmpl.data());
    if (!p) std::abort();
    path_ = p;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string env_or_skip(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace moebench::testing
