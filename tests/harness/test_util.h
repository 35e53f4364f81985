#pragma once
// Shared helpers for harness tests: temporary directories and running the moebench binary.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

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

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace moebench::testing {

struct cli_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string moebench_bin() {
  const char* bin = std::getenv("MOEBENCH_BIN");
#ifdef MOEBENCH_TEST_BIN
  if (!bin) bin = MOEBENCH_TEST_BIN;
#endif
  return bin ? bin : "moebench";
}

inline std::string source_dir() {
  const char* dir = std::getenv("MOEBENCH_SOURCE_DIR");
#ifdef MOEBENCH_TEST_SOURCE_DIR
  if (!dir) dir = MOEBENCH_TEST_SOURCE_DIR;
#endif
  return dir ? dir : ".";
}

// For a forked child: becomes the moebench binary run with `args` (exit 127 if it cannot).
[[noreturn]] inline void exec_moebench(const std::vector<std::string>& args) {
  std::string bin = moebench_bin();
  std::vector<std::string> copy = args;
  std::vector<char*> argv{bin.data()};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(bin.c_str(), argv.data());
  ::_exit(127);
}

// Runs the moebench binary with `args`, capturing its output through files in `scratch`.
inline cli_result run_cli(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
  const auto out_path = scratch / ".cli_stdout";
  const auto err_path = scratch / ".cli_stderr";
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* o = std::freopen(out_path.c_str(), "w", stdout);
    FILE* e = std::freopen(err_path.c_str(), "w", stderr);
    if (!o || !e) ::_exit(127);
    exec_moebench(args);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  cli_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

// `moebench serve --model MODEL --port 0 --port-file F EXTRA...` in a child process, its output
// in a log file; SIGKILLed at destruction if still running.
class serve_process {
 public:
  serve_process(const temp_dir& dir, const std::string& model, const std::vector<std::string>& extra) {
    using namespace std::chrono_literals;
    const std::filesystem::path port_file = dir / ("port-" + std::to_string(counter_++));
    log_ = port_file.string() + ".log";
    std::vector<std::string> args = {"serve", "--model", model, "--port", "0", "--port-file", port_file.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!std::freopen(log_.c_str(), "w", stdout) || !std::freopen(log_.c_str(), "a", stderr)) ::_exit(127);
      exec_moebench(args);
    }
    // Loading a model can take a while on a loaded machine: up to 20 s.
    for (int i = 0; i < 2000 && port_ == 0; ++i) {
      std::ifstream in(port_file);
      if (!(in >> port_)) std::this_thread::sleep_for(10ms);
    }
    if (port_ == 0) ADD_FAILURE() << "serve did not write its port file; log:\n" << slurp(log_);
  }
  ~serve_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int port() const { return port_; }
  std::string log() const { return slurp(log_); }
  // SIGTERM, then the exit code (-1 if it did not exit within `timeout`).
  int terminate(std::chrono::milliseconds timeout) {
    using namespace std::chrono_literals;
    ::kill(pid_, SIGTERM);
    for (auto waited = 0ms; waited < timeout; waited += 10ms) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  static inline int counter_ = 0;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_;
};

}  // namespace moebench::testing
