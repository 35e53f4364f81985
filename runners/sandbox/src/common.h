#pragma once
// Pieces shared by the backends: nonces, the driver's result record, the capped output pump
// and the verdict classification (SANDBOX_THREATS.md, "Verdict taxonomy").
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "init_report.h"
#include "moebench/executor.h"

namespace moebench::sandbox::detail {

// 32 hex characters from getrandom().
std::string make_nonce();

// What the driver reported on the result channel.
struct driver_record {
  // passed | failed | error | memory; split grading's checker also: violation (the candidate
  // broke the plain-data contract), lost (the candidate ended or closed the channel),
  // unsupported (the checks passed something that cannot cross: not the model's fault).
  std::string status;
  std::string detail;
};

// The whole channel content must be exactly one record carrying `nonce`; anything else
// (garbage, a second record, a wrong nonce) is nullopt.
std::optional<driver_record> parse_driver_record(std::string_view text, std::string_view nonce);

// A pipe end closed on destruction.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

// Both ends O_CLOEXEC: concurrent spawns on other threads never inherit them.
std::pair<unique_fd, unique_fd> make_pipe();

// Descriptor `child` of a spawned init: a dup of `parent`, or /dev/null (read-only as stdin,
// write-only otherwise) when parent is -1.
struct child_fd {
  int child = -1;
  int parent = -1;
};

// posix_spawn of the init program `path` as a new session leader (so that its whole tree can be
// signalled as a group) with an empty signal mask and every signal at its default disposition
// (what the harness blocks or ignores must not leak into the sandbox). The child gets exactly
// `fds` besides what is not close-on-exec. Returns posix_spawn's error number, 0 on success.
int spawn_init(pid_t& pid, const std::string& path, std::vector<std::string> argv,
               std::vector<std::string> env, std::span<const child_fd> fds);

// Reads stdout, stderr, the result channel and the status channel concurrently until the
// status channel closes (the supervisor is gone) and the other pipes drain. Output beyond the
// cap is counted but not kept; the first overflow calls on_output_cap once.
struct pump_fds {
  int out = -1, err = -1, result = -1, status = -1;
};
struct pump_result {
  std::string out, err, result, status;
  int64_t out_total = 0, err_total = 0;
  bool out_truncated = false, err_truncated = false;
  bool output_cap_hit = false;
  bool backstop_fired = false;  // the supervisor itself had to be killed
};
pump_result pump(const pump_fds& fds, int64_t cap_bytes, int64_t backstop_deadline_ns,
                 const std::function<void()>& on_output_cap,
                 const std::function<void()>& on_backstop);
// Moves the captured stdout and stderr, with their totals and truncation flags, into r.
void take_output(pump_result& pr, exec_result& r);

// Inputs of the classification, gathered by a backend.
struct outcome {
  std::optional<init_report> init;   // nullopt: the supervisor vanished without a report
  std::string result_text;           // raw result channel content
  std::string nonce;
  bool harness_output_kill = false;  // the harness hit the output cap and asked for a kill
  bool cgroup_oom_kill = false;      // the cgroup memory controller killed something
  bool uses_driver = true;           // false: exit status 0 alone means success (sh)
  // Split grading: the candidate's report (`init` is then the checker's). Consulted when the
  // checker lost the candidate, to say why (crash, CPU or memory limit, early exit).
  std::optional<init_report> candidate;
};

void classify(const outcome& o, const exec_limits& limits, exec_result& r);

// Signal number to "SIGSEGV"; "signal N" when unknown.
std::string signal_name(int sig);

// Validates an exec_file path: relative, no "..", no empty component.
bool safe_relative_path(std::string_view p);

}  // namespace moebench::sandbox::detail
