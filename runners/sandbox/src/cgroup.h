#pragma once
// Per-instance cgroups for the "ns" backend: v1 memory + pids hierarchies or a v2 group with
// both controllers, whichever the host lets us create (probed, never assumed).
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace moebench::sandbox::detail {

enum class cgroup_kind { none, v1, v2 };

struct cgroup_probe {
  cgroup_kind kind = cgroup_kind::none;
  std::string detail;  // what was found or why not
};

// Tries to create and remove a probe group; cached after the first call.
const cgroup_probe& probe_cgroups();

class instance_cgroup {
 public:
  // nullptr when the host offers no usable cgroup.
  static std::unique_ptr<instance_cgroup> create(const std::string& name);
  instance_cgroup(instance_cgroup&&) = delete;
  instance_cgroup& operator=(instance_cgroup&&) = delete;
  instance_cgroup(const instance_cgroup&) = delete;
  ~instance_cgroup();

  bool attach(pid_t pid) const;
  // Before a sample: the limit applies on top of the instance's idle usage.
  void prepare(int64_t memory_bytes, int64_t processes);
  // After a sample.
  bool oom_killed_since_prepare() const;
  int64_t peak_bytes() const;

 private:
  instance_cgroup() = default;
  cgroup_kind kind_ = cgroup_kind::none;
  std::string mem_dir_, pids_dir_;  // equal for v2
  int64_t oom_before_ = 0;
};

}  // namespace moebench::sandbox::detail
