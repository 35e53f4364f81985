// The "ns" backend, harness half: a pool of sandbox instances (one per concurrent caller), each
// a warm Python zygote inside its own namespaces and cgroup. A request travels as one
// SOCK_SEQPACKET message (JSON header) with five descriptors: stdout, stderr, result and status
// pipes, and a memfd holding the files.
#include "ns_backend.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <vector>

#include "cgroup.h"
#include "common.h"
#include "moebench/clock.h"
#include "toolchain.h"

namespace moebench::sandbox::detail {
namespace {

constexpr std::size_t max_source_bytes = 16u << 20;

// File names of the two halves of a split program in their workdirs (and in tracebacks).
namespace split_names {
constexpr const char* candidate = "candidate.py";
constexpr const char* setup = "checker_setup.py";
constexpr const char* checker = "checker.py";
}  // namespace split_names

struct instance {
  pid_t pid = -1;
  unique_fd ctl;
  unique_fd log;  // the instance's stderr (setup failures)
  std::unique_ptr<instance_cgroup> cgroup;
  bool broken = false;

  ~instance() {
    ctl.reset();  // the zygote sees EOF and exits; the namespaces go with it
    if (pid > 0) {
      int st = 0;
      for (int i = 0; i < 200; ++i) {
        if (::waitpid(pid, &st, WNOHANG) == pid) {
          pid = -1;
          break;
        }
        ::usleep(1000);
      }
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &st, 0);
      }
    }
  }

  std::string drain_log() const {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(log.get(), buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
    return s;
  }
};

bool send_with_fds(int sock, const std::string& msg, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(msg.data()), msg.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (!fds.empty()) {
    mh.msg_control = control.data();
    mh.msg_controllen = control.size();
    // The control buffer is sized for exactly one header: fill it in place.
    cmsghdr hdr{};
    hdr.cmsg_level = SOL_SOCKET;
    hdr.cmsg_type = SCM_RIGHTS;
    hdr.cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(control.data(), &hdr, sizeof hdr);
    std::memcpy(control.data() + CMSG_LEN(0), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    const ssize_t n = ::sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(msg.size())) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

// RLIMIT_NPROC is kept even with a pids cgroup: it is counted per user namespace (one per
// instance) and, unlike pids.max, checked before fork copies the address space, so a fork bomb
// fails cheaply instead of thrashing the kernel.
nlohmann::json step_json(const std::vector<std::string>& argv, const exec_limits& l, bool python,
                         bool driver) {
  nlohmann::json s;
  s["argv"] = argv;
  s["python"] = python;
  s["driver"] = driver;
  s["wall_ms"] = l.wall_ms;
  s["limits"] = {{"cpu_s", l.cpu_ms > 0 ? (l.cpu_ms + 999) / 1000 : 0},
                 {"as", l.memory_bytes},
                 {"fsize", l.file_size_bytes},
                 {"nofile", l.open_files},
                 {"nproc", l.processes}};
  return s;
}

class ns_executor final : public executor {
 public:
  ns_executor(executor_options o, std::string init_path, executor_info info)
      : options_(std::move(o)), init_path_(std::move(init_path)), info_(std::move(info)) {}

  executor_info info() const override { return info_; }

  exec_result run(const exec_request& req) override {
    const int64_t t0 = now_ns();
    exec_result r;
    // An instance that died between samples is replaced once, transparently.
    for (int attempt = 0; attempt < 2; ++attempt) {
      r = exec_result{};
      std::unique_ptr<instance> inst;
      try {
        inst = acquire();
        const bool retry = run_on(*inst, req, r);
        release(std::move(inst));
        if (!retry) break;
      } catch (const std::exception& e) {
        r.status = verdict::sandbox_error;
        r.detail = std::string("sandbox infrastructure: ") + e.what();
        break;
      }
    }
    r.backend = info_.backend;
    r.isolation_level = info_.isolation_level;
    r.wall_ns = now_ns() - t0;
    return r;
  }

 private:
  std::unique_ptr<instance> acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto i = std::move(idle_.back());
        idle_.pop_back();
        return i;
      }
    }
    return spawn();
  }

  void release(std::unique_ptr<instance> i) {
    if (i->broken) return;  // destroyed here, outside the lock
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(i));
  }

  std::unique_ptr<instance> spawn() {
    auto inst = std::make_unique<instance>();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
      throw std::runtime_error(std::string("socketpair: ") + strerror(errno));
    inst->ctl = unique_fd(sv[0]);
    unique_fd child_ctl(::fcntl(sv[1], F_DUPFD_CLOEXEC, 64));
    ::close(sv[1]);
    auto [log_r, log_w] = make_pipe();
    unique_fd log_w_high(::fcntl(log_w.get(), F_DUPFD_CLOEXEC, 64));
    log_w.reset();
    ::fcntl(log_r.get(), F_SETFL, O_NONBLOCK);
    inst->log = std::move(log_r);

    const child_fd fds[] = {{0, -1}, {1, -1}, {2, log_w_high.get()}, {3, child_ctl.get()}};
    const int rc = spawn_init(inst->pid, init_path_, {init_path_, "zygote", options_.python,
                                   "--hash-seed=" + std::to_string(options_.python_hash_seed)},
                               {}, fds);
    if (rc != 0) {
      inst->pid = -1;
      throw std::runtime_error("posix_spawn " + init_path_ + ": " + strerror(rc));
    }
    static std::atomic<int> counter{0};
    inst->cgroup = instance_cgroup::create("moebench-" + std::to_string(::getpid()) + "-" +
                                           std::to_string(counter.fetch_add(1)));
    if (inst->cgroup && !inst->cgroup->attach(inst->pid)) inst->cgroup.reset();
    if (!send_with_fds(inst->ctl.get(), "G", {}))
      throw std::runtime_error("sandbox instance did not start: " + inst->drain_log());
    return inst;
  }

  // Returns true when the instance turned out dead before the sample started (retry).
  bool run_on(instance& inst, const exec_request& req, exec_result& r) {
    const toolchain tc = toolchain_for(req.lang, options_);
    const split_program* split = req.split ? &*req.split : nullptr;
    const std::size_t source_bytes =
        split ? split->candidate.size() + split->checker_setup.size() + split->checker.size()
              : req.source.size();
    if (source_bytes > max_source_bytes) {
      r.status = verdict::compile_error;
      r.detail = "source of " + std::to_string(source_bytes) + " bytes rejected (limit " +
                 std::to_string(max_source_bytes) + ")";
      return false;
    }
    if (split && req.lang != language::python) {
      r.status = verdict::sandbox_error;
      r.detail = "split grading runs Python programs only";
      return false;
    }
    // One memfd per side: the candidate's side never receives the checker's sources.
    struct body_file {
      unique_fd fd;
      nlohmann::json listing = nlohmann::json::array();
      void add(const std::string& name, std::string_view content) {
        std::size_t off = 0;
        while (off < content.size()) {
          const ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) throw std::runtime_error(std::string("memfd write: ") + strerror(errno));
          off += static_cast<std::size_t>(n);
        }
        listing.push_back({name, content.size()});
      }
    };
    auto make_body = [] {
      body_file b;
      b.fd = unique_fd(::memfd_create("moebench-body", MFD_CLOEXEC));
      if (b.fd.get() < 0) throw std::runtime_error(std::string("memfd_create: ") + strerror(errno));
      return b;
    };
    body_file body = make_body();
    std::optional<body_file> cand_body;
    if (split) cand_body = make_body();
    body_file& program_side = split ? *cand_body : body;
    for (const auto& f : req.files) {
      if (!safe_relative_path(f.path)) {
        r.status = verdict::sandbox_error;
        r.detail = "request file path rejected: '" + f.path + "'";
        return false;
      }
      program_side.add(f.path, f.content);
    }
    for (const auto& h : tc.extra_files) program_side.add(h, helper_source(h));
    if (split) {
      cand_body->add(split_names::candidate, split->candidate);
      body.add(split_names::setup, split->checker_setup);
      body.add(split_names::checker, split->checker);
      ::lseek(cand_body->fd.get(), 0, SEEK_SET);
    } else {
      body.add(tc.source_file, req.source);
    }
    ::lseek(body.fd.get(), 0, SEEK_SET);

    const bool cg = inst.cgroup != nullptr;
    const bool python = req.lang == language::python;
    nlohmann::json steps = nlohmann::json::array();
    exec_limits blim;
    int64_t wall_ms = req.limits.wall_ms;
    if (!tc.build_argv.empty()) {
      blim = build_limits(req.limits);
      steps.push_back(step_json(tc.build_argv, blim, false, false));
      wall_ms += blim.wall_ms;
    }
    steps.push_back(step_json(python ? std::vector<std::string>{} : tc.run_argv, req.limits, python,
                              tc.uses_driver));
    const std::string nonce = make_nonce();
    nlohmann::json header = {
        {"nonce", nonce},
        {"uid", ::geteuid() == 0 ? 65534 : 0},
        {"source", tc.source_file},
        {"files", body.listing},
        {"steps", steps},
        {"wall_ms", wall_ms},
        {"tmpfs_bytes", std::max<int64_t>(req.limits.file_size_bytes, 16LL << 20)},
    };
    if (split) {
      header["split"] = {{"candidate", split_names::candidate},
                         {"setup", split_names::setup},
                         {"checker", split_names::checker},
                         {"entry_points", split->entry_points}};
      header["candidate_files"] = cand_body->listing;
    }
    if (cg) inst.cgroup->prepare(std::max(req.limits.memory_bytes, tc.build_argv.empty() ? 0 : blim.memory_bytes),
                                 std::max(req.limits.processes, tc.build_argv.empty() ? 0 : blim.processes));

    auto [out_r, out_w] = make_pipe();
    auto [err_r, err_w] = make_pipe();
    auto [res_r, res_w] = make_pipe();
    auto [st_r, st_w] = make_pipe();
    const int64_t t_launch = now_ns();
    std::vector<int> fds = {out_w.get(), err_w.get(), res_w.get(), st_w.get(), body.fd.get()};
    if (split) fds.push_back(cand_body->fd.get());
    if (!send_with_fds(inst.ctl.get(), header.dump(), fds)) {
      inst.broken = true;
      r.status = verdict::sandbox_error;
      r.detail = "sandbox instance unavailable: " + inst.drain_log();
      return true;
    }
    out_w.reset();
    err_w.reset();
    res_w.reset();
    st_w.reset();
    body.fd.reset();
    if (split) cand_body->fd.reset();

    const int64_t backstop = t_launch + (wall_ms + 5'000) * 1'000'000;
    pump_result pr = pump(
        {out_r.get(), err_r.get(), res_r.get(), st_r.get()}, req.limits.output_bytes, backstop,
        [&] { send_with_fds(inst.ctl.get(), "K", {}); },
        [&] {
          inst.broken = true;
          ::kill(inst.pid, SIGKILL);
        });
    take_output(pr, r);

    // Status lines: "INIT1 ..." per step, or in split grading "candidate INIT1 ..." and
    // "checker INIT1 ..." (one each).
    std::vector<init_report> reps;
    std::optional<init_report> cand_rep;
    bool malformed = false;
    std::size_t pos = 0;
    while (pos < pr.status.size()) {
      const auto nl = pr.status.find('\n', pos);
      if (nl == std::string::npos) {
        malformed = true;
        break;
      }
      std::string_view line = std::string_view(pr.status).substr(pos, nl - pos + 1);
      pos = nl + 1;
      bool is_candidate = false;
      if (split) {
        if (line.starts_with("candidate ")) {
          is_candidate = true;
          line.remove_prefix(10);
        } else if (line.starts_with("checker ")) {
          line.remove_prefix(8);
        } else {
          malformed = true;
          continue;
        }
      }
      auto rep = parse_init_report(line);
      if (!rep) malformed = true;
      else if (is_candidate) cand_rep = *rep;
      else reps.push_back(*rep);
    }
    if (reps.empty() || malformed || (split && !cand_rep)) {
      int st = 0;
      if (::waitpid(inst.pid, &st, WNOHANG) == inst.pid) {
        inst.pid = -1;
        inst.broken = true;
      }
      r.status = verdict::sandbox_error;
      r.detail = "sandbox instance gave no valid report";
      const std::string log = inst.drain_log();
      if (!log.empty()) r.detail += ": " + log.substr(0, 2000);
      if (pr.backstop_fired) r.detail += " (instance missed its deadline and was killed)";
      return false;
    }
    for (const auto& rep : reps)
      if (!rep.error.empty()) {
        r.status = verdict::sandbox_error;
        r.detail = rep.error;
        return false;
      }

    outcome o;
    o.nonce = nonce;
    o.harness_output_kill = pr.output_cap_hit;
    o.cgroup_oom_kill = cg && inst.cgroup->oom_killed_since_prepare();
    o.candidate = cand_rep;
    std::size_t run_idx = 0;
    if (!tc.build_argv.empty()) {
      const init_report& b = reps[0];
      const bool build_ok = b.payload_reaped && WIFEXITED(b.wait_status) &&
                            WEXITSTATUS(b.wait_status) == 0 && b.killer == init_kill::none;
      if (!build_ok || reps.size() < 2) {
        o.init = b;
        o.uses_driver = false;
        exec_result br = r;
        classify(o, blim, br);
        r = br;
        if (build_ok) {
          r.status = verdict::sandbox_error;
          r.detail = "build succeeded but the run step left no report";
        } else if (r.status == verdict::timeout_cpu || r.status == verdict::timeout_wall) {
          r.status = verdict::compile_timeout;
        } else if (r.status != verdict::sandbox_error) {
          r.status = verdict::compile_error;
          r.detail = r.stderr_text.substr(0, 4000);
        }
        return false;
      }
      run_idx = 1;
    }
    o.init = reps[run_idx];
    o.result_text = std::move(pr.result);
    o.uses_driver = tc.uses_driver;
    int64_t start_ns = o.init->payload_reaped ? o.init->start_ns : 0;
    if (cand_rep && cand_rep->payload_reaped && (start_ns == 0 || cand_rep->start_ns < start_ns))
      start_ns = cand_rep->start_ns;
    r.spawn_overhead_ns = start_ns > 0 ? start_ns - t_launch : 0;
    classify(o, req.limits, r);
    return false;
  }

  executor_options options_;
  std::string init_path_;
  executor_info info_;
  std::mutex mu_;
  std::vector<std::unique_ptr<instance>> idle_;
};

}  // namespace

std::unique_ptr<executor> make_ns_executor(const executor_options& options, std::string init_path,
                                           executor_info info) {
  return std::make_unique<ns_executor>(options, std::move(init_path), std::move(info));
}

}  // namespace moebench::sandbox::detail
