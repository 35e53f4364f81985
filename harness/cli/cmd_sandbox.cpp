// `moebench sandbox check|run|bench`: probe the host's isolation layers, run one program in the
// sandbox, and measure the per-execution overhead of each backend.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <atomic>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include <fmt/core.h>

#include "commands.h"
#include "moebench/clock.h"
#include "moebench/error.h"
#include "moebench/sandbox/sandbox.h"

namespace moebench::cli {
namespace {

// A HumanEval-format sample (prompt + completion + test + check call) written for moebench.
constexpr const char* bench_program = R"PY(from typing import List


def running_max(values: List[int]) -> List[int]:
    """Return the running maximum of values."""
    out = []
    best = None
    for v in values:
        best = v if best is None or v > best else best
        out.append(best)
    return out


def check(candidate):
    assert candidate([]) == []
    assert candidate([3, 1, 4, 1, 5, 9, 2, 6]) == [3, 3, 4, 4, 5, 9, 9, 9]
    assert candidate([-5, -7, -1]) == [-5, -5, -1]
    assert candidate(list(range(100))) == list(range(100))


check(running_max)
)PY";

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "?";
  return fmt::format("{:.2f}", l[0]);
}

struct stats {
  double median_ms = 0, mean_ms = 0, p90_ms = 0;
};

stats summarize(std::vector<int64_t> ns) {
  stats s;
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  double sum = 0;
  for (auto v : ns) sum += static_cast<double>(v);
  s.mean_ms = sum / static_cast<double>(ns.size()) / 1e6;
  s.median_ms = static_cast<double>(ns[ns.size() / 2]) / 1e6;
  s.p90_ms = static_cast<double>(ns[std::min(ns.size() - 1, ns.size() * 9 / 10)]) / 1e6;
  return s;
}

// The baseline: posix_spawn of the same program, no supervision, output to /dev/null.
int64_t bare_exec_ns(const std::string& python) {
  const int64_t t0 = now_ns();
  std::vector<std::string> args = {python, "-I", "-c", bench_program};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  char* envp[] = {nullptr};
  if (posix_spawn(&pid, python.c_str(), &fa, nullptr, argv.data(), envp) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    throw error("sandbox.bench", "cannot spawn " + python);
  }
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) throw error("sandbox.bench", "the bench program failed bare");
  return now_ns() - t0;
}

// CPU time of this process and of every reaped descendant, in ns: the cost of the work on an
// idle machine, independent of how loaded this one is.
int64_t cpu_ns_all() {
  int64_t total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage ru{};
    getrusage(who, &ru);
    total += (int64_t{ru.ru_utime.tv_sec} + ru.ru_stime.tv_sec) * 1'000'000'000 +
             (int64_t{ru.ru_utime.tv_usec} + ru.ru_stime.tv_usec) * 1000;
  }
  return total;
}

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw error("sandbox.bad_file", {path, 0, "FILE"}, "cannot read " + path);
  std::string s;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

void print_result(const exec_result& r) {
  fmt::print("verdict: {}\n", to_string(r.status));
  if (r.exit_code) fmt::print("exit code: {}\n", *r.exit_code);
  if (r.term_signal) fmt::print("signal: {}\n", *r.term_signal);
  fmt::print("killed by: {}\nresult record: {}\n", to_string(r.killer), r.nonce_ok ? "valid" : "absent");
  fmt::print("wall: {:.1f} ms, cpu: {:.1f} ms user + {:.1f} ms sys, max rss: {} KiB\n",
             static_cast<double>(r.wall_ns) / 1e6, static_cast<double>(r.cpu_user_ns) / 1e6,
             static_cast<double>(r.cpu_sys_ns) / 1e6, r.max_rss_kib);
  fmt::print("backend: {}, isolation: {}\n", r.backend, r.isolation_level);
  if (!r.detail.empty()) fmt::print("detail: {}\n", r.detail);
  if (!r.stdout_text.empty())
    fmt::print("--- stdout ({} bytes{}) ---\n{}\n", r.stdout_bytes_total,
               r.stdout_truncated ? ", truncated" : "", r.stdout_text);
  if (!r.stderr_text.empty())
    fmt::print("--- stderr ({} bytes{}) ---\n{}\n", r.stderr_bytes_total,
               r.stderr_truncated ? ", truncated" : "", r.stderr_text);
}

}  // namespace

void add_sandbox_command(CLI::App& app, context& ctx) {
  auto* cmd = app.add_subcommand("sandbox", "Probe, use and measure the code-execution sandbox");
  cmd->require_subcommand(1);

  auto* check = cmd->add_subcommand("check", "Print which isolation layers this host provides "
                                             "(exit 0 only with full isolation)");
  auto check_json = std::make_shared<bool>(false);
  check->add_flag("--json", *check_json, "Print JSON");
  check->callback([&ctx, check_json] {
    sandbox::executor_options o;
    const sandbox::host_probe hp = sandbox::probe_host(o);
    if (*check_json) {
      nlohmann::json j;
      j["full_isolation"] = hp.full_isolation;
      for (const auto& l : hp.layers) j["layers"].push_back({{"name", l.name}, {"active", l.active}, {"detail", l.detail}});
      fmt::print("{}\n", j.dump(2));
    } else {
      fmt::print("{:<22} {:<8} {}\n", "layer", "status", "detail");
      for (const auto& l : hp.layers)
        fmt::print("{:<22} {:<8} {}\n", l.name, l.active ? "active" : "MISSING", l.detail);
      fmt::print("\nisolation: {}\n", hp.full_isolation ? "full (backend ns)" : "NOT full");
    }
    ctx.exit_code = hp.full_isolation ? exit_ok : exit_failure;
  });

  auto* run = cmd->add_subcommand("run", "Run one program in the sandbox and print its verdict");
  struct run_opts {
    std::string lang = "python", file, backend = "auto";
    double timeout_s = 10;
    int64_t memory_mb = 1024;
    bool json = false, require = false;
  };
  auto ro = std::make_shared<run_opts>();
  run->add_option("--lang", ro->lang, "python, cpp or sh")->capture_default_str();
  run->add_option("FILE", ro->file, "The program")->required();
  run->add_option("--timeout-s", ro->timeout_s, "CPU limit; the wall limit is twice this")->capture_default_str();
  run->add_option("--memory-mb", ro->memory_mb, "Memory limit")->capture_default_str();
  run->add_option("--backend", ro->backend, "auto, ns or process")->capture_default_str();
  run->add_flag("--require-isolation", ro->require, "Refuse to run without full isolation");
  run->add_flag("--json", ro->json, "Print the execution record as JSON");
  run->callback([&ctx, ro] {
    if (ro->timeout_s <= 0) throw error("sandbox.bad_option", {"", 0, "--timeout-s"}, "must be positive");
    if (ro->memory_mb <= 0) throw error("sandbox.bad_option", {"", 0, "--memory-mb"}, "must be positive");
    exec_request req;
    req.lang = language_from_string(ro->lang);
    req.source = read_file(ro->file);
    req.limits.cpu_ms = static_cast<int64_t>(ro->timeout_s * 1000);
    req.limits.wall_ms = 2 * req.limits.cpu_ms;
    req.limits.memory_bytes = ro->memory_mb << 20;
    req.label = ro->file;
    sandbox::executor_options o;
    o.backend = ro->backend;
    o.require_isolation = ro->require;
    auto ex = sandbox::make_executor(o);
    const exec_result r = ex->run(req);
    if (ro->json) {
      nlohmann::json j = r;
      fmt::print("{}\n", j.dump(2));
    } else {
      print_result(r);
    }
    ctx.exit_code = r.status == verdict::passed ? exit_ok : exit_failure;
  });

  auto* bench = cmd->add_subcommand("bench", "Per-execution overhead of each backend versus a bare "
                                             "fork/exec of the same Python program, and throughput");
  struct bench_opts {
    int n = 200;
    std::vector<std::string> backends = {"process", "ns"};
    int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  };
  auto bo = std::make_shared<bench_opts>();
  bench->add_option("--n", bo->n, "Executions per backend")->capture_default_str();
  bench->add_option("--jobs", bo->jobs, "Parallel workers for the throughput part")->capture_default_str();
  bench->add_option("--backends", bo->backends, "Backends to measure (process, ns)")->capture_default_str();
  bench->callback([bo] {
    if (bo->n < 1) throw error("sandbox.bad_option", {"", 0, "--n"}, "must be at least 1");
    if (bo->jobs < 1) throw error("sandbox.bad_option", {"", 0, "--jobs"}, "must be at least 1");
    sandbox::executor_options base;
    std::vector<std::pair<std::string, std::unique_ptr<executor>>> backends;
    for (const std::string& b : bo->backends) {
      sandbox::executor_options o = base;
      o.backend = b;
      try {
        backends.emplace_back(b, sandbox::make_executor(o));
      } catch (const error& e) {
        fmt::print("backend {}: unavailable ({})\n", b, e.what());
      }
    }
    exec_request req;
    req.lang = language::python;
    req.source = bench_program;
    // Warm-up: instances started, caches hot.
    for (auto& [name, ex] : backends)
      for (int i = 0; i < 3; ++i) {
        const auto r = ex->run(req);
        if (r.status != verdict::passed)
          throw error("sandbox.bench", "bench program did not pass on " + name + ": " + r.detail);
      }
    bare_exec_ns(base.python);
    // Sequential, interleaved side by side so that drift hits all equally.
    std::vector<int64_t> bare;
    std::vector<std::vector<int64_t>> per(backends.size());
    for (int i = 0; i < bo->n; ++i) {
      bare.push_back(bare_exec_ns(base.python));
      for (std::size_t b = 0; b < backends.size(); ++b) {
        const int64_t t0 = now_ns();
        const auto r = backends[b].second->run(req);
        per[b].push_back(now_ns() - t0);
        if (r.status != verdict::passed) throw error("sandbox.bench", "run failed: " + r.detail);
      }
    }
    const stats sb = summarize(bare);
    fmt::print("sequential, n={} each (median / mean / p90 per execution, ms)\n", bo->n);
    fmt::print("  {:<24} {:7.2f} {:7.2f} {:7.2f}\n", "bare fork/exec python", sb.median_ms, sb.mean_ms, sb.p90_ms);
    for (std::size_t b = 0; b < backends.size(); ++b) {
      const stats s = summarize(per[b]);
      fmt::print("  {:<24} {:7.2f} {:7.2f} {:7.2f}   added vs bare: {:+.2f} ms (median), isolation {}\n",
                 backends[b].second->info().backend, s.median_ms, s.mean_ms, s.p90_ms,
                 s.median_ms - sb.median_ms, backends[b].second->info().isolation_level);
    }
    // Throughput: N samples over J workers, each backend and the bare baseline. CPU per sample
    // counts every process involved (harness, supervisors, zygotes, payloads): a fresh executor
    // is destroyed after its phase so that all of its processes are reaped and counted.
    auto throughput = [&](const std::function<void()>& one) {
      std::atomic<int> next{0};
      const int64_t t0 = now_ns();
      std::vector<std::thread> ts;
      for (int j = 0; j < bo->jobs; ++j)
        ts.emplace_back([&] {
          while (next.fetch_add(1) < bo->n) one();
        });
      for (auto& t : ts) t.join();
      return static_cast<double>(bo->n) / (static_cast<double>(now_ns() - t0) / 1e9);
    };
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    fmt::print("throughput, n={} samples, jobs={} (load average now: {})\n", bo->n, bo->jobs, load_average());
    fmt::print("  {:<24} {:>10} {:>14} {:>22}\n", "", "samples/s", "cpu ms/sample", "cpu-bound samples/s");
    auto report = [&](const std::string& name, double rate, int64_t cpu_ns) {
      const double cpu_ms = static_cast<double>(cpu_ns) / 1e6 / bo->n;
      fmt::print("  {:<24} {:10.1f} {:14.2f} {:22.1f}\n", name, rate, cpu_ms,
                 static_cast<double>(std::min<int>(bo->jobs, static_cast<int>(cores))) * 1000.0 / cpu_ms);
    };
    {
      const int64_t c0 = cpu_ns_all();
      const double rate = throughput([&] { bare_exec_ns(base.python); });
      report("bare fork/exec python", rate, cpu_ns_all() - c0);
    }
    for (auto& [name, ex] : backends) {
      const std::string label = ex->info().backend;
      ex.reset();
      sandbox::executor_options o = base;
      o.backend = name;
      std::atomic<int> failed{0};
      const int64_t c0 = cpu_ns_all();
      double rate = 0;
      {
        auto fresh = sandbox::make_executor(o);
        rate = throughput([&] {
          if (fresh->run(req).status != verdict::passed) failed.fetch_add(1);
        });
      }
      report(label, rate, cpu_ns_all() - c0);
      if (failed.load() != 0) fmt::print("  ({} samples did not pass on {})\n", failed.load(), label);
    }
  });
}

}  // namespace moebench::cli
