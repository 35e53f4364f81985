#pragma once
// Executors for untrusted programs (DESIGN.md section 7, SANDBOX_THREATS.md, docs/sandbox.md).
//
// Backends:
//  - "process": one supervised process tree per execution: own session and process group,
//    rlimits, a non-root uid when started as root, wall deadline, capped output, scrubbed
//    environment, private workdir. No namespaces: isolation level "process".
//  - "ns": per worker a warm sandbox instance (user, mount, net, uts, ipc namespaces; read-only
//    system view) holding a pre-started Python; every execution is forked from it into fresh
//    pid, mount and ipc namespaces with a private tmpfs, a seccomp filter, no capabilities,
//    no_new_privs, rlimits and, where the host allows, a cgroup. Isolation level "full" when
//    every layer is active.
//  - "auto": "ns" when its probe succeeds, "process" otherwise (the level is recorded).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moebench/executor.h"

namespace moebench::sandbox {

struct executor_options {
  std::string backend = "auto";     // auto | process | ns
  bool require_isolation = false;   // make_executor throws unless full isolation is available
  std::string python = "/usr/bin/python3";
  std::string cxx = "/usr/bin/g++";
  std::string shell = "/bin/sh";
  // PYTHONHASHSEED of every Python program (and the seed of its `random` module): a named seed
  // of the run, so that set and dict iteration orders repeat from run to run.
  uint32_t python_hash_seed = 0;
  // Empty: next to the running executable, else the build-tree location.
  std::string init_path;
  // Where private workdirs are created (process backend).
  std::string temp_root = "/tmp";
  // Tests only: pretend the namespace probe failed (SANDBOX_THREATS.md #54).
  bool force_probe_failure = false;
};

// One defensive layer and whether this host provides it.
struct layer_status {
  std::string name;    // e.g. "user_namespace", "seccomp", "cgroup_memory"
  bool active = false;
  std::string detail;  // why not, or what was found
};

struct host_probe {
  std::vector<layer_status> layers;
  bool full_isolation = false;
};

// Probes the host for every layer of the "ns" backend (cheap; spawns short-lived processes).
host_probe probe_host(const executor_options& options);

// Throws moebench::error("sandbox.isolation_unavailable") when require_isolation is set and
// full isolation is unavailable, "sandbox.bad_backend" for an unknown backend name and
// "sandbox.init_missing" when the init helper cannot be found.
std::unique_ptr<executor> make_executor(const executor_options& options);

// Path of moebench-sandbox-init as make_executor resolves it.
std::string resolve_init_path(const executor_options& options);

}  // namespace moebench::sandbox
