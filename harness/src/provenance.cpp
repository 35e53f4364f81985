#include "moebench/provenance.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "moebench/text.h"

#ifndef MOEBENCH_VERSION
#define MOEBENCH_VERSION "unknown"
#endif
#ifndef MOEBENCH_BUILD_TYPE
#define MOEBENCH_BUILD_TYPE "unknown"
#endif

namespace moebench {
namespace detail {
extern const char* const git_commit;
extern const bool git_dirty;
}  // namespace detail

namespace {
std::string compiler_string() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

// Value of the first "key : value" line of a /proc file whose key equals `key`.
std::string proc_field(const char* path, std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(std::string_view(line).substr(0, colon)) == key)
      return std::string(trim(std::string_view(line).substr(colon + 1)));
  }
  return {};
}
}  // namespace

build_info current_build_info() {
  return build_info{MOEBENCH_VERSION, detail::git_commit, detail::git_dirty, MOEBENCH_BUILD_TYPE,
                    compiler_string()};
}

host_info current_host_info() {
  host_info h;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) h.hostname = name;
  h.cpu_model = proc_field("/proc/cpuinfo", "model name");
  for (auto& f : split(proc_field("/proc/cpuinfo", "flags"), ' '))
    if (!f.empty()) h.cpu_flags.push_back(f);
  h.logical_cores = sysconf(_SC_NPROCESSORS_ONLN);
  {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/sys/devices/system/node", ec)) {
      const auto n = e.path().filename().string();
      if (n.starts_with("node") && n.size() > 4 && n.find_first_not_of("0123456789", 4) == n.npos)
        ++h.numa_nodes;
    }
  }
  const auto mem = proc_field("/proc/meminfo", "MemTotal");  // "24558376 kB"
  if (!mem.empty()) h.memory_bytes = std::stoll(mem) * 1024;
  {
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("PRETTY_NAME=")) {
        h.os = line.substr(12);
        if (h.os.size() >= 2 && h.os.front() == '"') h.os = h.os.substr(1, h.os.size() - 2);
      }
    }
  }
  utsname u{};
  if (uname(&u) == 0) {
    h.kernel = u.release;
    h.machine = u.machine;
  }
  {
    std::ifstream in("/proc/driver/nvidia/version");
    std::string line;
    if (std::getline(in, line)) h.gpu = line;
  }
  return h;
}

void to_json(nlohmann::json& j, const build_info& b) {
  j = {{"version", b.version},       {"git_commit", b.git_commit}, {"git_dirty", b.git_dirty},
       {"build_type", b.build_type}, {"compiler", b.compiler}};
}
void from_json(const nlohmann::json& j, build_info& b) {
  j.at("version").get_to(b.version);
  j.at("git_commit").get_to(b.git_commit);
  j.at("git_dirty").get_to(b.git_dirty);
  j.at("build_type").get_to(b.build_type);
  j.at("compiler").get_to(b.compiler);
}
void to_json(nlohmann::json& j, const host_info& h) {
  j = {{"hostname", h.hostname},       {"cpu_model", h.cpu_model},
       {"cpu_flags", h.cpu_flags},     {"logical_cores", h.logical_cores},
       {"numa_nodes", h.numa_nodes},   {"memory_bytes", h.memory_bytes},
       {"os", h.os},                   {"kernel", h.kernel},
       {"machine", h.machine},         {"gpu", h.gpu}};
}
void from_json(const nlohmann::json& j, host_info& h) {
  j.at("hostname").get_to(h.hostname);
  j.at("cpu_model").get_to(h.cpu_model);
  j.at("cpu_flags").get_to(h.cpu_flags);
  j.at("logical_cores").get_to(h.logical_cores);
  j.at("numa_nodes").get_to(h.numa_nodes);
  j.at("memory_bytes").get_to(h.memory_bytes);
  j.at("os").get_to(h.os);
  j.at("kernel").get_to(h.kernel);
  j.at("machine").get_to(h.machine);
  j.at("gpu").get_to(h.gpu);
}

}  // namespace moebench
