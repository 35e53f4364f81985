#pragma once
// Helpers shared by the sandbox tests: requests, and the post-run invariants of
// SANDBOX_THREATS.md (no leftover process, harness threads/RSS stable).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "moebench/executor.h"

namespace moebench::sandbox::test {

exec_request python(std::string source, int64_t wall_ms = 3000, int64_t cpu_ms = 2000);
exec_request program(language lang, std::string source, int64_t wall_ms = 3000,
                     int64_t cpu_ms = 2000);

// PIDs printed by a payload as lines "PID <n>".
std::vector<pid_t> reported_pids(const std::string& out);
// True when `pid` names a live (non-zombie) process or a zombie.
bool process_exists(pid_t pid);

// A small file's content ("" when unreadable).
std::string read_text(const std::string& path);

int64_t self_threads();
int64_t self_rss_kib();

// Every process whose ancestry leads to this test process, excluding itself.
std::vector<pid_t> descendants_of_self();

}  // namespace moebench::sandbox::test
