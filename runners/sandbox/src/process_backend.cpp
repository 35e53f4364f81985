// The "process" backend: posix_spawn of moebench-sandbox-init per execution.
//
// Plain POSIX rather than Boost.Process v2: the supervisor needs wait4() rusage of the payload,
// a new session, a child subreaper, rlimits and a uid change between fork and exec, and the
// harness needs a fixed fd layout (status, nonce and result channels). Boost.Process v2 gives
// none of wait4's rusage and would only wrap the one posix_spawn call (docs/sandbox.md).
#include "process_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common.h"
#include "moebench/clock.h"
#include "toolchain.h"

namespace moebench::sandbox::detail {
namespace {

constexpr uid_t nobody_uid = 65534;
constexpr gid_t nobody_gid = 65534;
constexpr std::size_t max_source_bytes = 16u << 20;

// Moves `fd` to a number >= 64 so that the dup2 actions of posix_spawn (targets 0..5) can never
// clobber a source that happens to have a low number.
unique_fd high_fd(unique_fd fd) {
  const int h = fcntl(fd.get(), F_DUPFD_CLOEXEC, 64);
  if (h < 0) throw std::runtime_error(std::string("fcntl(F_DUPFD): ") + strerror(errno));
  return unique_fd(h);
}

bool write_file(const std::filesystem::path& p, std::string_view content, bool chown_nobody) {
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  f.close();
  if (!f) return false;
  if (chown_nobody) {
    if (::chown(p.c_str(), nobody_uid, nobody_gid) != 0) return false;
  }
  return true;
}

class process_executor final : public executor {
 public:
  process_executor(executor_options o, std::string init_path)
      : options_(std::move(o)), init_path_(std::move(init_path)), drop_uid_(geteuid() == 0) {}

  executor_info info() const override {
    executor_info i;
    i.backend = "process";
    i.isolation_level = "process";
    i.layers_active = {"process_group", "session", "rlimits", "wall_deadline", "output_cap",
                       "scrubbed_env", "private_workdir"};
    if (drop_uid_) i.layers_active.push_back("unprivileged_uid");
    i.layers_missing = {"user_namespace", "pid_namespace", "mount_namespace", "net_namespace",
                        "ipc_namespace", "uts_namespace", "seccomp", "cgroup", "readonly_root"};
    return i;
  }

  exec_result run(const exec_request& req) override {
    const int64_t t0 = now_ns();
    exec_result r;
    r.backend = "process";
    r.isolation_level = "process";
    if (req.split) {
      // Without pid namespaces the two halves could see and signal each other.
      r.status = verdict::sandbox_error;
      r.detail = "split grading needs the ns backend (sibling pid namespaces); this is the process backend";
      r.wall_ns = now_ns() - t0;
      return r;
    }
    try {
      run_impl(req, r);
    } catch (const std::exception& e) {
      r.status = verdict::sandbox_error;
      r.detail = std::string("sandbox infrastructure: ") + e.what();
    }
    r.wall_ns = now_ns() - t0;
    return r;
  }

 private:
  void run_impl(const exec_request& req, exec_result& r) {
    const toolchain tc = toolchain_for(req.lang, options_);
    if (req.source.size() > max_source_bytes) {
      r.status = verdict::compile_error;
      r.detail = "source of " + std::to_string(req.source.size()) + " bytes rejected (limit " +
                 std::to_string(max_source_bytes) + ")";
      return;
    }
    for (const auto& f : req.files)
      if (!safe_relative_path(f.path)) {
        r.status = verdict::sandbox_error;
        r.detail = "request file path rejected: '" + f.path + "'";
        return;
      }
    std::string tmpl = options_.temp_root + "/moebench-sbx-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp in " + options_.temp_root + ": " + strerror(errno));
    const std::filesystem::path workdir(tmpl);
    struct remover {
      std::filesystem::path p;
      ~remover() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    } cleanup{workdir};
    if (drop_uid_ && ::chown(workdir.c_str(), nobody_uid, nobody_gid) != 0)
      throw std::runtime_error("chown workdir: " + std::string(strerror(errno)));
    ::chmod(workdir.c_str(), 0700);
    for (const auto& f : req.files)
      if (!write_file(workdir / f.path, f.content, drop_uid_))
        throw std::runtime_error("cannot write " + f.path);
    if (!write_file(workdir / tc.source_file, req.source, drop_uid_))
      throw std::runtime_error("cannot write the program");
    for (const auto& h : tc.extra_files)
      if (!write_file(workdir / h, helper_source(h), drop_uid_))
        throw std::runtime_error("cannot write " + h);

    if (!tc.build_argv.empty()) {
      const exec_limits bl = build_limits(req.limits);
      exec_result b;
      run_step(tc.build_argv, bl, /*uses_driver=*/false, workdir, b);
      if (b.status != verdict::passed) {
        r = b;
        r.backend = "process";
        r.isolation_level = "process";
        if (b.status == verdict::timeout_cpu || b.status == verdict::timeout_wall) {
          r.status = verdict::compile_timeout;
        } else if (b.status != verdict::sandbox_error) {
          r.status = verdict::compile_error;
          r.detail = std::string(b.stderr_text.substr(0, 4000));
        }
        return;
      }
    }
    run_step(tc.run_argv, req.limits, tc.uses_driver, workdir, r);
  }

  void run_step(const std::vector<std::string>& argv, const exec_limits& lim, bool uses_driver,
                const std::filesystem::path& workdir, exec_result& r) const {
    const std::string nonce = make_nonce();
    auto [out_r, out_w] = make_pipe();
    auto [err_r, err_w] = make_pipe();
    auto [st_r, st_w] = make_pipe();
    auto [nonce_r, nonce_w] = make_pipe();
    auto [res_r, res_w] = make_pipe();
    const std::string nonce_line = nonce + "\n";
    if (::write(nonce_w.get(), nonce_line.data(), nonce_line.size()) !=
        static_cast<ssize_t>(nonce_line.size()))
      throw std::runtime_error("cannot write the nonce");
    nonce_w.reset();
    out_w = high_fd(std::move(out_w));
    err_w = high_fd(std::move(err_w));
    st_w = high_fd(std::move(st_w));
    nonce_r = high_fd(std::move(nonce_r));
    res_w = high_fd(std::move(res_w));

    const int64_t cpu_s = lim.cpu_ms > 0 ? (lim.cpu_ms + 999) / 1000 : 0;
    std::vector<std::string> args = {
        init_path_,
        "run",
        std::to_string(lim.wall_ms),
        std::to_string(cpu_s),
        std::to_string(lim.memory_bytes),
        std::to_string(lim.file_size_bytes),
        std::to_string(lim.open_files),
        std::to_string(drop_uid_ ? lim.processes : 0),
        std::to_string(drop_uid_ ? static_cast<int64_t>(nobody_uid) : -1),
        std::to_string(drop_uid_ ? static_cast<int64_t>(nobody_gid) : -1),
        workdir.string(),
        "--"};
    args.insert(args.end(), argv.begin(), argv.end());
    const child_fd fds[] = {{0, -1},          {1, out_w.get()},   {2, err_w.get()},
                            {3, st_w.get()},  {4, nonce_r.get()}, {5, res_w.get()}};
    pid_t init_pid = -1;
    const int64_t t_launch = now_ns();
    const int rc =
        spawn_init(init_pid, init_path_, std::move(args), scrubbed_environment(workdir.string(), options_.python_hash_seed), fds);
    out_w.reset();
    err_w.reset();
    st_w.reset();
    nonce_r.reset();
    res_w.reset();
    if (rc != 0) throw std::runtime_error("posix_spawn " + init_path_ + ": " + strerror(rc));

    const int64_t backstop = t_launch + (lim.wall_ms + 5'000) * 1'000'000;
    pump_result pr = pump({out_r.get(), err_r.get(), res_r.get(), st_r.get()}, lim.output_bytes,
                          backstop, [&] { ::kill(init_pid, SIGUSR1); },
                          [&] { ::kill(init_pid, SIGKILL); });
    int st = 0;
    while (::waitpid(init_pid, &st, 0) < 0 && errno == EINTR) {
    }
    take_output(pr, r);
    outcome o;
    o.init = parse_init_report(pr.status);
    o.result_text = std::move(pr.result);
    o.nonce = nonce;
    o.harness_output_kill = pr.output_cap_hit;
    o.uses_driver = uses_driver;
    if (o.init) r.spawn_overhead_ns = o.init->start_ns - t_launch;
    classify(o, lim, r);
    if (pr.backstop_fired && r.status == verdict::sandbox_error)
      r.detail += " (the supervisor missed its deadline and was killed)";
  }

  executor_options options_;
  std::string init_path_;
  bool drop_uid_;
};

}  // namespace

std::vector<std::string> scrubbed_environment(const std::string& home, uint32_t python_hash_seed) {
  return {"PATH=/usr/local/bin:/usr/bin:/bin",
          "LANG=C.UTF-8",
          "LC_ALL=C.UTF-8",
          "TZ=UTC",
          "PYTHONHASHSEED=" + std::to_string(python_hash_seed),
          "PYTHONDONTWRITEBYTECODE=1",
          "PYTHONIOENCODING=utf-8",
          "HOME=" + home,
          "TMPDIR=" + home};
}

std::unique_ptr<executor> make_process_executor(const executor_options& options,
                                                std::string init_path) {
  return std::make_unique<process_executor>(options, std::move(init_path));
}

}  // namespace moebench::sandbox::detail
