#pragma once
// Provenance: what built moebench and what host ran it (DESIGN.md section 4).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace moebench {

struct build_info {
  std::string version;
  std::string git_commit;   // "unknown" outside a git checkout
  bool git_dirty = false;
  std::string build_type;
  std::string compiler;
};
build_info current_build_info();

struct host_info {
  std::string hostname;
  std::string cpu_model;
  std::vector<std::string> cpu_flags;
  int64_t logical_cores = 0;
  int64_t numa_nodes = 0;
  int64_t memory_bytes = 0;
  std::string os;        // PRETTY_NAME of /etc/os-release
  std::string kernel;    // uname -r
  std::string machine;   // uname -m
  std::string gpu;       // driver line where a GPU driver is visible, else empty
};
// Reads /proc and /sys; fields that cannot be read stay empty or zero.
host_info current_host_info();

void to_json(nlohmann::json& j, const build_info& b);
void from_json(const nlohmann::json& j, build_info& b);
void to_json(nlohmann::json& j, const host_info& h);
void from_json(const nlohmann::json& j, host_info& h);

}  // namespace moebench
