#include "test_util.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <cstdio>
#include <map>
#include <sstream>

namespace moebench::sandbox::test {

exec_request program(language lang, std::string source, int64_t wall_ms, int64_t cpu_ms) {
  exec_request r;
  r.lang = lang;
  r.source = std::move(source);
  r.limits.wall_ms = wall_ms;
  r.limits.cpu_ms = cpu_ms;
  r.limits.memory_bytes = 512LL << 20;
  r.limits.output_bytes = 64 * 1024;
  return r;
}

exec_request python(std::string source, int64_t wall_ms, int64_t cpu_ms) {
  return program(language::python, std::move(source), wall_ms, cpu_ms);
}

std::vector<pid_t> reported_pids(const std::string& out) {
  std::vector<pid_t> pids;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("PID ", 0) == 0) pids.push_back(static_cast<pid_t>(std::atoi(line.c_str() + 4)));
  return pids;
}

bool process_exists(pid_t pid) {
  return ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) == 0;
}

namespace {
std::string read_small(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return {};
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  return std::string(buf, n);
}

int64_t status_field(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + std::strlen(key));
  return -1;
}
}  // namespace

std::string read_text(const std::string& path) { return read_small(path); }

int64_t self_threads() { return status_field("Threads:"); }
int64_t self_rss_kib() { return status_field("VmRSS:"); }

std::vector<pid_t> descendants_of_self() {
  std::map<pid_t, pid_t> parent;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string s = read_small(std::string("/proc/") + e->d_name + "/stat");
    const auto rp = s.rfind(')');
    if (rp == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(s.c_str() + rp + 1, " %c %d", &state, &ppid) == 2)
      parent[static_cast<pid_t>(std::atoi(e->d_name))] = ppid;
  }
  closedir(d);
  const pid_t self = getpid();
  std::vector<pid_t> out;
  for (const auto& [pid, pp] : parent) {
    pid_t p = pp;
    for (int depth = 0; depth < 64 && p > 1; ++depth) {
      if (p == self) {
        out.push_back(pid);
        break;
      }
      const auto it = parent.find(p);
      if (it == parent.end()) break;
      p = it->second;
    }
  }
  return out;
}

}  // namespace moebench::sandbox::test
