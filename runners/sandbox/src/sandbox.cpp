#include "moebench/sandbox/sandbox.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cgroup.h"
#include "moebench/error.h"
#include "ns_backend.h"
#include "process_backend.h"

namespace moebench::sandbox {
namespace {

// Runs inside the sandbox and reports what it sees; the harness compares with its own view.
constexpr const char* probe_program = R"PY(
import json, os, socket
def field(st, k):
    for line in st.splitlines():
        if line.startswith(k + ":"):
            return line.split(":", 1)[1].strip()
    return ""
st = open("/proc/self/status").read()
ro = False
try:
    open("/usr/.moebench_probe", "w")
except OSError as e:
    ro = e.errno in (13, 30)
ns = {}
for n in ("user", "pid", "mnt", "net", "ipc", "uts", "cgroup"):
    try:
        ns[n] = os.readlink("/proc/self/ns/" + n)
    except OSError:
        ns[n] = ""
print(json.dumps({"ns": ns, "uid": os.getuid(), "capeff": field(st, "CapEff"),
                  "capbnd": field(st, "CapBnd"), "nnp": field(st, "NoNewPrivs"),
                  "seccomp": field(st, "Seccomp"), "ro": ro,
                  "ifaces": [n for _, n in socket.if_nameindex()],
                  "hostname": socket.gethostname()}))
)PY";

layer_status layer(std::string name, bool active, std::string detail) {
  return {std::move(name), active, std::move(detail)};
}

host_probe run_probe(const executor_options& options, const std::string& init) {
  host_probe hp;
  const auto& cg = detail::probe_cgroups();
  exec_result r;
  if (options.force_probe_failure) {
    r.status = verdict::sandbox_error;
    r.detail = "probe disabled by configuration (force_probe_failure)";
  } else {
    executor_info provisional;
    provisional.backend = "ns";
    provisional.isolation_level = "probe";
    auto ex = detail::make_ns_executor(options, init, provisional);
    exec_request req;
    req.lang = language::python;
    req.source = probe_program;
    req.limits.wall_ms = 10'000;
    r = ex->run(req);
  }
  nlohmann::json facts;
  const bool ran = r.status == verdict::passed;
  if (ran) {
    try {
      facts = nlohmann::json::parse(r.stdout_text);
    } catch (const std::exception&) {
    }
  }
  const std::string why = ran ? "" : "the sandbox instance did not run: " + r.detail;
  hp.layers.push_back(layer("ns_instance", ran && facts.is_object(), ran ? "probe program passed" : why));
  auto host_ns = [](const char* n) {
    std::error_code ec;
    return std::filesystem::read_symlink(std::string("/proc/self/ns/") + n, ec).string();
  };
  for (const auto& [name, key] : std::vector<std::pair<std::string, const char*>>{
           {"user_namespace", "user"}, {"pid_namespace", "pid"}, {"mount_namespace", "mnt"},
           {"net_namespace", "net"}, {"ipc_namespace", "ipc"}, {"uts_namespace", "uts"},
           {"cgroup_namespace", "cgroup"}}) {
    const std::string inside = facts.is_object() ? facts["ns"].value(key, "") : "";
    const bool active = !inside.empty() && inside != host_ns(key);
    hp.layers.push_back(layer(name, active, ran ? inside : why));
  }
  if (facts.is_object()) {
    const auto ifaces = facts["ifaces"];
    const bool only_lo = ifaces.is_array() && ifaces.size() <= 1 &&
                         (ifaces.empty() || ifaces[0] == "lo");
    hp.layers.push_back(layer("no_network", only_lo, "interfaces: " + ifaces.dump()));
    hp.layers.push_back(layer("readonly_root", facts["ro"].get<bool>(), "write to /usr refused"));
    const std::string capeff = facts["capeff"], capbnd = facts["capbnd"];
    const bool nocaps = capeff.find_first_not_of('0') == std::string::npos &&
                        capbnd.find_first_not_of('0') == std::string::npos;
    hp.layers.push_back(layer("capabilities_dropped", nocaps, "CapEff " + capeff + ", CapBnd " + capbnd));
    hp.layers.push_back(layer("no_new_privs", facts["nnp"] == "1", "NoNewPrivs " + facts["nnp"].get<std::string>()));
    hp.layers.push_back(layer("seccomp", facts["seccomp"] == "2", "Seccomp mode " + facts["seccomp"].get<std::string>()));
    const int uid = facts["uid"].get<int>();
    hp.layers.push_back(layer("unprivileged_uid", uid != 0 || ::geteuid() != 0, "uid " + std::to_string(uid)));
  } else {
    for (const char* n : {"no_network", "readonly_root", "capabilities_dropped", "no_new_privs",
                          "seccomp", "unprivileged_uid"})
      hp.layers.push_back(layer(n, false, why));
  }
  const bool cg_ok = cg.kind != detail::cgroup_kind::none;
  hp.layers.push_back(layer("cgroup_memory", cg_ok, cg.detail));
  hp.layers.push_back(layer("cgroup_pids", cg_ok, cg.detail));
  hp.layers.push_back(layer("rlimits", true, "CPU, address space, file size, open files, processes"));
  hp.full_isolation = true;
  for (const auto& l : hp.layers) hp.full_isolation = hp.full_isolation && l.active;
  return hp;
}

struct cached_probe {
  host_probe probe;
};

const host_probe& cached(const executor_options& options, const std::string& init) {
  static std::mutex mu;
  static std::map<std::string, host_probe> cache;
  const std::string key = options.python + '\n' + init + '\n' + (options.force_probe_failure ? "1" : "0");
  std::lock_guard lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, run_probe(options, init)).first;
  return it->second;
}

executor_info ns_info(const host_probe& hp) {
  executor_info i;
  bool cg = false;
  for (const auto& l : hp.layers) {
    (l.active ? i.layers_active : i.layers_missing).push_back(l.name);
    if (l.name == "cgroup_memory") cg = l.active;
  }
  i.backend = cg ? "ns+cgroup" : "ns+rlimit";
  i.isolation_level = hp.full_isolation ? "full" : "partial";
  i.split_grading = true;
  return i;
}

bool ns_usable(const host_probe& hp) {
  for (const auto& l : hp.layers)
    if (l.name == "ns_instance") return l.active;
  return false;
}

}  // namespace

std::string resolve_init_path(const executor_options& options) {
  namespace fs = std::filesystem;
  if (!options.init_path.empty()) {
    if (::access(options.init_path.c_str(), X_OK) != 0)
      throw error("sandbox.init_missing", {"", 0, "init_path"},
                  "sandbox init helper '" + options.init_path + "' is not executable");
    return options.init_path;
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = self.parent_path() / "moebench-sandbox-init";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
#ifdef MOEBENCH_SANDBOX_INIT_BUILD_PATH
  if (::access(MOEBENCH_SANDBOX_INIT_BUILD_PATH, X_OK) == 0) return MOEBENCH_SANDBOX_INIT_BUILD_PATH;
#endif
  throw error("sandbox.init_missing",
              "cannot find moebench-sandbox-init next to the executable; it is installed beside "
              "the moebench binary");
}

host_probe probe_host(const executor_options& options) {
  return cached(options, resolve_init_path(options));
}

std::unique_ptr<executor> make_executor(const executor_options& options) {
  const std::string& b = options.backend;
  if (b != "auto" && b != "process" && b != "ns")
    throw error("sandbox.bad_backend", {"", 0, "backend"},
                "unknown sandbox backend '" + b + "' (known: auto, ns, process)");
  const std::string init = resolve_init_path(options);
  if (b == "process") {
    if (options.require_isolation)
      throw error("sandbox.isolation_unavailable", {"", 0, "backend"},
                  "full isolation was required but the process backend has none");
    return detail::make_process_executor(options, init);
  }
  const host_probe& hp = cached(options, init);
  auto missing = [&] {
    std::string s;
    for (const auto& l : hp.layers)
      if (!l.active) s += (s.empty() ? "" : "; ") + l.name + " (" + l.detail + ")";
    return s;
  };
  if (options.require_isolation && !hp.full_isolation)
    throw error("sandbox.isolation_unavailable",
                "full isolation was required but this host lacks: " + missing() +
                    " (see `moebench sandbox check`)");
  if (ns_usable(hp)) return detail::make_ns_executor(options, init, ns_info(hp));
  if (b == "ns")
    throw error("sandbox.backend_unavailable", {"", 0, "backend"},
                "the ns backend cannot run on this host: " + missing());
  return detail::make_process_executor(options, init);
}

}  // namespace moebench::sandbox
