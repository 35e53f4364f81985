#pragma once
// The executor interface: runs one untrusted program and reports what happened (DESIGN.md
// section 2, SANDBOX_THREATS.md). The harness knows no backend; backends live in
// runners/sandbox. A program failure is a value in exec_result, never an exception.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace moebench {

// One primary status per execution (SANDBOX_THREATS.md, "Verdict taxonomy"). Closed enum:
// switch over it exhaustively, without default.
enum class verdict {
  passed,            // valid result record, all tests passed
  failed,            // valid result record, a test failed (assertion / wrong answer)
  partial,           // SWE only: some FAIL_TO_PASS pass, all PASS_TO_PASS pass
  no_result,         // exited without a valid result record (early exit, spoof)
  runtime_error,     // non-zero exit or uncaught exception
  crashed,           // killed by a signal the harness did not send
  timeout_cpu,       // CPU limit exceeded
  timeout_wall,      // wall deadline exceeded
  memory_limit,      // memory limit hit (cgroup oom_kill, or rlimit failure classified)
  output_limit,      // stdout/stderr cap exceeded
  security_violation,// seccomp kill or blocked syscall
  compile_error,
  compile_timeout,
  patch_apply_failed,   // SWE
  test_log_unparseable, // SWE
  sandbox_error,     // infrastructure failure: never counted against the model
  skipped,
  cancelled,
};

std::string_view to_string(verdict v) noexcept;
// Throws moebench::error("verdict.unknown") for an unknown name.
verdict verdict_from_string(std::string_view s);
// True for verdicts that say nothing about the model (infrastructure, operator).
bool is_infrastructure(verdict v) noexcept;

// Why the harness killed the program; overrides the raw signal when classifying.
enum class killed_by { none, cpu, wall, output, memory, harness_shutdown };
std::string_view to_string(killed_by k) noexcept;
killed_by killed_by_from_string(std::string_view s);

enum class language { python, cpp, sh };
std::string_view to_string(language l) noexcept;
language language_from_string(std::string_view s);

struct exec_limits {
  int64_t cpu_ms = 10'000;                   // RLIMIT_CPU (rounded up to whole seconds)
  int64_t wall_ms = 20'000;                  // deadline; the whole process tree is killed
  int64_t memory_bytes = 1024LL << 20;       // address space / cgroup memory
  int64_t file_size_bytes = 64LL << 20;      // RLIMIT_FSIZE
  int64_t open_files = 256;                  // RLIMIT_NOFILE
  int64_t processes = 64;                    // RLIMIT_NPROC / pids.max where enforceable
  int64_t output_bytes = 1LL << 20;          // per stream; the program is killed past it
};

struct exec_file {
  std::string path;     // relative to the workdir; no "..", not absolute
  std::string content;
};

// Split grading (docs/grading.md): the program under test and its checks run in two sandboxed
// processes in sibling pid namespaces; the checks call the entry points through proxies, and
// only plain data (None, bool, int, float, complex, str, bytes and list/tuple/dict/set/frozenset
// of these, exact types, bounded) crosses between them. Only the checker holds the result
// channel. Python only.
struct split_program {
  std::string candidate;      // the program under test: defines the entry points
  std::string checker_setup;  // run first in the checker (e.g. the prompt's helper functions)
  std::string checker;        // run after the entry points are bound to call proxies
  std::vector<std::string> entry_points;
};

struct exec_request {
  language lang = language::python;
  // The program. Python: source executed by the backend's driver, which reports the result on
  // a channel the program cannot forge. The program passes when it runs to completion;
  // an AssertionError is a failed test; any other exception is a runtime error.
  std::string source;
  std::vector<exec_file> files;  // extra files written into the private workdir first
  // When set, `source` is unused and the program runs split (executor_info::split_grading
  // must be true, else the result is sandbox_error); `files` go to the candidate's workdir.
  std::optional<split_program> split;
  exec_limits limits;
  std::string label;             // for logs only (e.g. "HumanEval/0#3")
};

struct exec_result {
  verdict status = verdict::sandbox_error;
  std::optional<int> exit_code;    // set when the program exited normally
  std::optional<int> term_signal;  // set when a signal ended it (mutually exclusive)
  killed_by killer = killed_by::none;
  bool nonce_ok = false;           // a valid result record arrived on the private channel
  std::string detail;              // failing assertion / exception summary / infra error

  int64_t wall_ns = 0;             // harness steady clock, spawn to reap
  int64_t cpu_user_ns = 0;
  int64_t cpu_sys_ns = 0;
  int64_t max_rss_kib = 0;
  int64_t spawn_overhead_ns = 0;   // launch until the payload started, where measurable

  std::string stdout_text;         // at most limits.output_bytes, raw bytes
  std::string stderr_text;
  int64_t stdout_bytes_total = 0;
  int64_t stderr_bytes_total = 0;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  bool disk_limit = false;         // ENOSPC/EFBIG/SIGXFSZ observed (a flag, not a status)

  std::string backend;             // e.g. "process", "bwrap+cgroup"
  std::string isolation_level;     // e.g. "none", "rlimit", "full"
};

// Fields as stored in sample records; stdout/stderr kept up to `keep_output_bytes`, escaped
// safely (invalid UTF-8 replaced).
void to_json(nlohmann::json& j, const exec_result& r);
void from_json(const nlohmann::json& j, exec_result& r);

struct executor_info {
  std::string backend;
  std::string isolation_level;
  bool split_grading = false;  // runs exec_request::split (needs sibling pid namespaces)
  std::vector<std::string> layers_active;
  std::vector<std::string> layers_missing;
};

// Runs untrusted programs.
// Thread-safety: run() may be called concurrently from many threads.
// Ownership: the request is borrowed for the duration of the call.
// Completes inline: run() blocks until the program and all its descendants are gone.
// Never throws for program failures; infrastructure faults are verdict::sandbox_error.
class executor {
 public:
  virtual ~executor() = default;
  virtual executor_info info() const = 0;
  virtual exec_result run(const exec_request& request) = 0;
};

}  // namespace moebench
