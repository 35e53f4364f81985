#include "cgroup.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace moebench::sandbox::detail {
namespace {

constexpr const char* v1_memory = "/sys/fs/cgroup/memory";
constexpr const char* v1_pids = "/sys/fs/cgroup/pids";
constexpr const char* v2_root = "/sys/fs/cgroup";

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool write_text(const std::string& path, const std::string& value) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs(value.c_str(), f) >= 0;
  return std::fclose(f) == 0 && ok;
}

int64_t read_i64(const std::string& path) {
  const std::string s = read_text(path);
  return s.empty() ? -1 : std::atoll(s.c_str());
}

// "key value" lines (memory.oom_control, memory.events).
int64_t read_key(const std::string& path, const std::string& key) {
  std::istringstream in(read_text(path));
  std::string k;
  int64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

bool is_cgroup2(const char* path) {
  return ::access((std::string(path) + "/cgroup.controllers").c_str(), F_OK) == 0;
}

// Groups named moebench-<pid>-<n> whose harness died without cleaning up (SIGKILL) are empty
// once their processes are gone: remove them.
void remove_stale_groups(const std::string& root) {
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("moebench-", 0) != 0) continue;
    const int pid = std::atoi(name.c_str() + 9);
    if (pid <= 0 || pid == ::getpid() || ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) == 0)
      continue;
    ::rmdir((root + "/" + name).c_str());
  }
  ::closedir(d);
}

cgroup_probe run_probe() {
  remove_stale_groups(v1_memory);
  remove_stale_groups(v1_pids);
  if (is_cgroup2(v2_root)) remove_stale_groups(v2_root);
  cgroup_probe p;
  const std::string name = "moebench-probe-" + std::to_string(::getpid());
  if (is_cgroup2(v2_root)) {
    const std::string ctl = read_text(std::string(v2_root) + "/cgroup.subtree_control");
    if (ctl.find("memory") != std::string::npos && ctl.find("pids") != std::string::npos) {
      const std::string dir = std::string(v2_root) + "/" + name;
      if (::mkdir(dir.c_str(), 0755) == 0) {
        ::rmdir(dir.c_str());
        p.kind = cgroup_kind::v2;
        p.detail = "cgroup v2 with memory and pids at " + std::string(v2_root);
        return p;
      }
      p.detail = "cgroup v2: cannot create a group: " + std::string(strerror(errno));
      return p;
    }
    p.detail = "cgroup v2 without the memory and pids controllers enabled";
    return p;
  }
  if (::access((std::string(v1_memory) + "/memory.limit_in_bytes").c_str(), F_OK) == 0 &&
      ::access((std::string(v1_pids) + "/cgroup.procs").c_str(), F_OK) == 0) {
    const std::string m = std::string(v1_memory) + "/" + name;
    const std::string q = std::string(v1_pids) + "/" + name;
    const bool ok_m = ::mkdir(m.c_str(), 0755) == 0;
    const bool ok_q = ok_m && ::mkdir(q.c_str(), 0755) == 0;
    const int err = errno;
    if (ok_q) ::rmdir(q.c_str());
    if (ok_m) ::rmdir(m.c_str());
    if (ok_q) {
      p.kind = cgroup_kind::v1;
      p.detail = "cgroup v1 memory and pids hierarchies";
      return p;
    }
    p.detail = "cgroup v1: cannot create a group: " + std::string(strerror(err));
    return p;
  }
  p.detail = "no writable cgroup v1 memory/pids hierarchy and no cgroup v2 controllers";
  return p;
}

}  // namespace

const cgroup_probe& probe_cgroups() {
  static const cgroup_probe p = run_probe();
  return p;
}

std::unique_ptr<instance_cgroup> instance_cgroup::create(const std::string& name) {
  const cgroup_probe& p = probe_cgroups();
  std::unique_ptr<instance_cgroup> holder(new instance_cgroup());
  instance_cgroup& g = *holder;
  g.kind_ = p.kind;
  switch (p.kind) {
    case cgroup_kind::none:
      return nullptr;
    case cgroup_kind::v1:
      g.mem_dir_ = std::string(v1_memory) + "/" + name;
      g.pids_dir_ = std::string(v1_pids) + "/" + name;
      if (::mkdir(g.mem_dir_.c_str(), 0755) != 0) return nullptr;
      if (::mkdir(g.pids_dir_.c_str(), 0755) != 0) {
        ::rmdir(g.mem_dir_.c_str());
        return nullptr;
      }
      // Swap would hide memory use from the limit.
      write_text(g.mem_dir_ + "/memory.swappiness", "0");
      return holder;
    case cgroup_kind::v2:
      g.mem_dir_ = g.pids_dir_ = std::string(v2_root) + "/" + name;
      if (::mkdir(g.mem_dir_.c_str(), 0755) != 0) return nullptr;
      write_text(g.mem_dir_ + "/memory.swap.max", "0");
      return holder;
  }
  return nullptr;
}

instance_cgroup::~instance_cgroup() {
  // The instance's processes are gone by now; an empty group can be removed.
  if (!mem_dir_.empty()) ::rmdir(mem_dir_.c_str());
  if (!pids_dir_.empty() && pids_dir_ != mem_dir_) ::rmdir(pids_dir_.c_str());
}

bool instance_cgroup::attach(pid_t pid) const {
  const std::string s = std::to_string(pid);
  if (!write_text(mem_dir_ + "/cgroup.procs", s)) return false;
  if (pids_dir_ != mem_dir_ && !write_text(pids_dir_ + "/cgroup.procs", s)) return false;
  return true;
}

void instance_cgroup::prepare(int64_t memory_bytes, int64_t processes) {
  // The instance's own processes: outer, PID 1, zygote, C, D.
  const std::string pids = std::to_string(processes + 8);
  switch (kind_) {
    case cgroup_kind::none:
      return;
    case cgroup_kind::v1: {
      const int64_t base = std::max<int64_t>(0, read_i64(mem_dir_ + "/memory.usage_in_bytes"));
      write_text(mem_dir_ + "/memory.limit_in_bytes", std::to_string(base + memory_bytes));
      write_text(mem_dir_ + "/memory.max_usage_in_bytes", "0");
      write_text(pids_dir_ + "/pids.max", pids);
      oom_before_ = read_key(mem_dir_ + "/memory.oom_control", "oom_kill");
      return;
    }
    case cgroup_kind::v2: {
      const int64_t base = std::max<int64_t>(0, read_i64(mem_dir_ + "/memory.current"));
      write_text(mem_dir_ + "/memory.max", std::to_string(base + memory_bytes));
      write_text(mem_dir_ + "/memory.peak", "0");  // resettable on kernels >= 6.12
      write_text(pids_dir_ + "/pids.max", pids);
      oom_before_ = read_key(mem_dir_ + "/memory.events", "oom_kill");
      return;
    }
  }
}

bool instance_cgroup::oom_killed_since_prepare() const {
  switch (kind_) {
    case cgroup_kind::none: return false;
    case cgroup_kind::v1: return read_key(mem_dir_ + "/memory.oom_control", "oom_kill") > oom_before_;
    case cgroup_kind::v2: return read_key(mem_dir_ + "/memory.events", "oom_kill") > oom_before_;
  }
  return false;
}

int64_t instance_cgroup::peak_bytes() const {
  switch (kind_) {
    case cgroup_kind::none: return 0;
    case cgroup_kind::v1: return read_i64(mem_dir_ + "/memory.max_usage_in_bytes");
    case cgroup_kind::v2: return read_i64(mem_dir_ + "/memory.peak");
  }
  return 0;
}

}  // namespace moebench::sandbox::detail
