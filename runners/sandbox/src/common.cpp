#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/random.h>
#include <unistd.h>

#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "moebench/clock.h"
#include "moebench/error.h"

namespace moebench::sandbox::detail {

std::string make_nonce() {
  unsigned char buf[16];
  std::size_t got = 0;
  while (got < sizeof buf) {
    const ssize_t n = getrandom(buf + got, sizeof buf - got, 0);
    if (n < 0 && errno == EINTR) continue;
    MOEBENCH_CHECK(n > 0, "getrandom failed");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : buf) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

std::optional<driver_record> parse_driver_record(std::string_view text, std::string_view nonce) {
  constexpr std::string_view magic = "MOEBENCH1 ";
  if (text.substr(0, magic.size()) != magic) return std::nullopt;
  text.remove_prefix(magic.size());
  const auto nl = text.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view head = text.substr(0, nl);
  const std::string_view body = text.substr(nl + 1);
  const auto s1 = head.find(' ');
  if (s1 == std::string_view::npos || head.substr(0, s1) != nonce || nonce.empty())
    return std::nullopt;
  head.remove_prefix(s1 + 1);
  const auto s2 = head.find(' ');
  if (s2 == std::string_view::npos) return std::nullopt;
  const std::string_view status = head.substr(0, s2);
  const std::string_view len_s = head.substr(s2 + 1);
  std::size_t len = 0;
  const auto [p, ec] = std::from_chars(len_s.data(), len_s.data() + len_s.size(), len);
  if (ec != std::errc() || p != len_s.data() + len_s.size() || len != body.size())
    return std::nullopt;
  if (status != "passed" && status != "failed" && status != "error" && status != "memory" &&
      status != "violation" && status != "lost" && status != "unsupported")
    return std::nullopt;
  return driver_record{std::string(status), std::string(body)};
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

void unique_fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::pair<unique_fd, unique_fd> make_pipe() {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + strerror(errno));
  return {unique_fd(p[0]), unique_fd(p[1])};
}

pump_result pump(const pump_fds& fds, int64_t cap_bytes, int64_t backstop_deadline_ns,
                 const std::function<void()>& on_output_cap,
                 const std::function<void()>& on_backstop) {
  pump_result r;
  struct stream {
    int fd;
    std::string* buf;
    int64_t* total;
    bool* truncated;
    int64_t cap;
    bool open;
  };
  // The result and status channels are small by construction; cap them too so that a
  // payload writing garbage cannot grow the harness.
  constexpr int64_t channel_cap = 64 * 1024;
  int64_t result_total = 0, status_total = 0;
  bool result_trunc = false, status_trunc = false;
  stream streams[4] = {
      {fds.out, &r.out, &r.out_total, &r.out_truncated, cap_bytes, fds.out >= 0},
      {fds.err, &r.err, &r.err_total, &r.err_truncated, cap_bytes, fds.err >= 0},
      {fds.result, &r.result, &result_total, &result_trunc, channel_cap, fds.result >= 0},
      {fds.status, &r.status, &status_total, &status_trunc, channel_cap, fds.status >= 0},
  };
  for (auto& s : streams)
    if (s.open) fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);
  // Once the supervisor is gone, every descendant is dead; a short drain grace covers data
  // still in flight and any writer we do not know about.
  int64_t drain_deadline_ns = -1;
  char buf[65536];
  for (;;) {
    pollfd pfd[4];
    int idx[4];
    int n = 0;
    for (int i = 0; i < 4; ++i)
      if (streams[i].open) {
        pfd[n] = {streams[i].fd, POLLIN, 0};
        idx[n++] = i;
      }
    if (n == 0) break;
    const int64_t now = now_ns();
    if (!streams[3].open && drain_deadline_ns < 0) drain_deadline_ns = now + 200'000'000;
    if (drain_deadline_ns >= 0 && now >= drain_deadline_ns) break;
    if (!r.backstop_fired && now >= backstop_deadline_ns) {
      r.backstop_fired = true;
      on_backstop();
    }
    int64_t until = drain_deadline_ns >= 0 ? drain_deadline_ns : backstop_deadline_ns;
    if (r.backstop_fired && drain_deadline_ns < 0) until = now + 100'000'000;
    const int timeout_ms = static_cast<int>(std::max<int64_t>(1, (until - now) / 1'000'000 + 1));
    const int rc = poll(pfd, static_cast<nfds_t>(n), timeout_ms);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) {
      if (r.backstop_fired && drain_deadline_ns < 0) drain_deadline_ns = now_ns();
      continue;
    }
    for (int k = 0; k < n; ++k) {
      if (pfd[k].revents == 0) continue;
      stream& s = streams[idx[k]];
      const ssize_t got = ::read(s.fd, buf, sizeof buf);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        s.open = false;
        continue;
      }
      if (got < 0) continue;
      *s.total += got;
      const int64_t room = s.cap - static_cast<int64_t>(s.buf->size());
      if (room > 0) s.buf->append(buf, static_cast<std::size_t>(std::min<int64_t>(room, got)));
      if (*s.total > s.cap && !*s.truncated) {
        *s.truncated = true;
        if (idx[k] <= 1 && !r.output_cap_hit) {
          r.output_cap_hit = true;
          on_output_cap();
        }
      }
    }
  }
  return r;
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGSYS: return "SIGSYS";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGPIPE: return "SIGPIPE";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGTRAP: return "SIGTRAP";
    case SIGALRM: return "SIGALRM";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "signal " + std::to_string(sig);
  }
}

void take_output(pump_result& pr, exec_result& r) {
  r.stdout_text = std::move(pr.out);
  r.stderr_text = std::move(pr.err);
  r.stdout_bytes_total = pr.out_total;
  r.stderr_bytes_total = pr.err_total;
  r.stdout_truncated = pr.out_truncated;
  r.stderr_truncated = pr.err_truncated;
}

int spawn_init(pid_t& pid, const std::string& path, std::vector<std::string> argv,
               std::vector<std::string> env, std::span<const child_fd> fds) {
  auto pointers = [](std::vector<std::string>& v) {
    std::vector<char*> p;
    for (auto& a : v) p.push_back(a.data());
    p.push_back(nullptr);
    return p;
  };
  std::vector<char*> cargv = pointers(argv);
  std::vector<char*> cenv = pointers(env);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (const child_fd& f : fds) {
    if (f.parent >= 0)
      posix_spawn_file_actions_adddup2(&fa, f.parent, f.child);
    else
      posix_spawn_file_actions_addopen(&fa, f.child, "/dev/null", f.child == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const int rc = ::posix_spawn(&pid, path.c_str(), &fa, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

bool safe_relative_path(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= p.size()) {
    const auto slash = p.find('/', start);
    const std::string_view comp =
        p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (comp.empty() || comp == "." || comp == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

namespace {
std::string tail(std::string_view s, std::size_t n) {
  return std::string(s.size() > n ? s.substr(s.size() - n) : s);
}

bool mentions_disk_error(std::string_view err) {
  return err.find("No space left on device") != std::string_view::npos ||
         err.find("File too large") != std::string_view::npos ||
         err.find("Disk quota exceeded") != std::string_view::npos;
}

bool mentions_memory_error(std::string_view err) {
  return err.find("MemoryError") != std::string_view::npos ||
         err.find("std::bad_alloc") != std::string_view::npos ||
         err.find("Cannot allocate memory") != std::string_view::npos;
}
// Split grading: the checker lost the candidate; its own report says why.
void classify_candidate_end(const init_report& c, bool cgroup_oom, const exec_limits& limits,
                            exec_result& r) {
  if (!c.error.empty()) {
    r.status = verdict::sandbox_error;
    r.detail = "candidate: " + c.error;
    return;
  }
  r.exit_code.reset();
  r.term_signal.reset();
  if (c.payload_reaped) {
    if (WIFEXITED(c.wait_status)) r.exit_code = WEXITSTATUS(c.wait_status);
    else if (WIFSIGNALED(c.wait_status)) r.term_signal = WTERMSIG(c.wait_status);
  }
  const std::string err_tail = tail(r.stderr_text, 2000);
  const std::string what = "the candidate process: ";
  if (c.killer == init_kill::output) {
    r.killer = killed_by::output;
    r.status = verdict::output_limit;
    r.detail = "output limit of " + std::to_string(limits.output_bytes) + " bytes per stream exceeded";
  } else if (c.killer == init_kill::wall) {
    r.killer = killed_by::wall;
    r.status = verdict::timeout_wall;
    r.detail = what + "wall limit of " + std::to_string(limits.wall_ms) + " ms exceeded";
  } else if (cgroup_oom) {
    r.killer = killed_by::memory;
    r.status = verdict::memory_limit;
    r.detail = what + "memory limit of " + std::to_string(limits.memory_bytes) + " bytes exceeded (cgroup OOM kill)";
  } else if (c.killer == init_kill::shutdown || !c.payload_reaped) {
    r.status = verdict::no_result;
    r.detail = what + "stopped answering (it closed the call channel) and was stopped";
  } else if (r.term_signal) {
    const int sig = *r.term_signal;
    // The candidate is PID 1 of its namespace: nothing inside can SIGKILL it, and the zygote's
    // kills are recorded as its killer; an unrecorded SIGKILL is the CPU limit's hard kill
    // (rusage may show a little less than the limit).
    if (sig == SIGXCPU || (sig == SIGKILL && limits.cpu_ms > 0)) {
      r.killer = killed_by::cpu;
      r.status = verdict::timeout_cpu;
      r.detail = what + "CPU limit of " + std::to_string(limits.cpu_ms) + " ms exceeded";
    } else if (sig == SIGSYS) {
      r.status = verdict::security_violation;
      r.detail = what + "killed by the seccomp filter (SIGSYS)";
    } else {
      r.status = verdict::crashed;
      r.detail = what + "terminated by " + signal_name(sig);
      if (!err_tail.empty()) r.detail += "\n" + tail(err_tail, 1000);
    }
  } else if (r.exit_code.value_or(-1) == 0) {
    r.status = verdict::no_result;
    r.detail = what + "exited with code 0 before the checks finished (early exit)";
  } else if (mentions_memory_error(err_tail) && limits.memory_bytes > 0) {
    r.status = verdict::memory_limit;
    r.detail = what + "allocation failed under the memory limit";
  } else {
    r.status = verdict::runtime_error;
    r.detail = what + "exit code " + std::to_string(r.exit_code.value_or(-1)) +
               (err_tail.empty() ? "" : "\n" + err_tail);
  }
}
}  // namespace

void classify(const outcome& o, const exec_limits& limits, exec_result& r) {
  if (!o.init) {
    r.status = verdict::sandbox_error;
    r.detail = "the sandbox supervisor ended without a report";
    return;
  }
  const init_report& rep = *o.init;
  if (!rep.error.empty() || (!rep.payload_reaped && rep.killer == init_kill::none)) {
    r.status = verdict::sandbox_error;
    r.detail = rep.error.empty() ? "the payload was never reaped" : rep.error;
    return;
  }
  r.cpu_user_ns = rep.utime_ns;
  r.cpu_sys_ns = rep.stime_ns;
  r.max_rss_kib = rep.maxrss_kib;
  if (o.candidate) {
    // Split grading: both processes' CPU time, the larger of their peaks.
    r.cpu_user_ns += o.candidate->utime_ns;
    r.cpu_sys_ns += o.candidate->stime_ns;
    r.max_rss_kib = std::max(r.max_rss_kib, o.candidate->maxrss_kib);
  }
  const int st = rep.wait_status;
  if (WIFEXITED(st)) {
    r.exit_code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    r.term_signal = WTERMSIG(st);
  }
  const int64_t cpu_ns = rep.utime_ns + rep.stime_ns;
  const int64_t cpu_limit_ns = ((limits.cpu_ms + 999) / 1000) * 1'000'000'000;

  // The harness knows why it killed: that overrides the raw signal.
  if (o.harness_output_kill || rep.killer == init_kill::output) {
    r.killer = killed_by::output;
  } else if (rep.killer == init_kill::shutdown) {
    r.killer = killed_by::harness_shutdown;
  } else if (o.cgroup_oom_kill) {
    r.killer = killed_by::memory;
  } else if (r.term_signal && (*r.term_signal == SIGXCPU ||
                               (*r.term_signal == SIGKILL && limits.cpu_ms > 0 &&
                                (cpu_ns >= cpu_limit_ns - 50'000'000 || (o.candidate && rep.killer == init_kill::none))))) {
    // In split grading the checker is PID 1 of its namespace, as the candidate: an unrecorded
    // SIGKILL can only be the CPU limit's hard kill.
    r.killer = killed_by::cpu;
  } else if (rep.killer == init_kill::wall) {
    r.killer = killed_by::wall;
  }

  const bool disk = mentions_disk_error(r.stderr_text) || (r.term_signal && *r.term_signal == SIGXFSZ);
  r.disk_limit = disk;

  std::optional<driver_record> rec;
  if (o.uses_driver) rec = parse_driver_record(o.result_text, o.nonce);
  r.nonce_ok = rec.has_value();
  const std::string err_tail = tail(r.stderr_text, 2000);

  switch (r.killer) {
    case killed_by::output:
      r.status = verdict::output_limit;
      r.detail = "output limit of " + std::to_string(limits.output_bytes) + " bytes per stream exceeded";
      return;
    case killed_by::harness_shutdown:
      r.status = verdict::cancelled;
      r.detail = "stopped by harness shutdown";
      return;
    case killed_by::memory:
      r.status = verdict::memory_limit;
      r.detail = "memory limit of " + std::to_string(limits.memory_bytes) + " bytes exceeded (cgroup OOM kill)";
      return;
    case killed_by::cpu:
      r.status = verdict::timeout_cpu;
      r.detail = "CPU limit of " + std::to_string(limits.cpu_ms) + " ms exceeded";
      return;
    case killed_by::wall:
      r.status = verdict::timeout_wall;
      r.detail = "wall limit of " + std::to_string(limits.wall_ms) + " ms exceeded";
      return;
    case killed_by::none:
      break;
  }

  if (r.term_signal) {
    const int sig = *r.term_signal;
    if (sig == SIGSYS) {
      r.status = verdict::security_violation;
      r.detail = "killed by the seccomp filter (SIGSYS)";
    } else if (sig == SIGABRT && mentions_memory_error(err_tail) && limits.memory_bytes > 0) {
      r.status = verdict::memory_limit;
      r.detail = "allocation failed under the memory limit (std::bad_alloc)";
    } else {
      r.status = verdict::crashed;
      r.detail = "terminated by " + signal_name(sig);
      if (!err_tail.empty()) r.detail += "\n" + tail(err_tail, 1000);
    }
    return;
  }

  const int code = r.exit_code.value_or(-1);
  if (rec) {
    if (rec->status == "passed") {
      r.status = code == 0 ? verdict::passed : verdict::runtime_error;
      r.detail = code == 0 ? "" : "result record says passed but exit code is " + std::to_string(code);
    } else if (rec->status == "failed") {
      r.status = verdict::failed;
      r.detail = rec->detail;
    } else if (rec->status == "memory") {
      r.status = verdict::memory_limit;
      r.detail = "MemoryError under the memory limit";
    } else if (rec->status == "violation") {
      // The candidate broke the plain-data contract: a wrong answer, never a pass.
      r.status = verdict::failed;
      r.detail = rec->detail;
    } else if (rec->status == "unsupported") {
      r.status = verdict::sandbox_error;
      r.detail = rec->detail;
    } else if (rec->status == "lost") {
      if (o.candidate) classify_candidate_end(*o.candidate, o.cgroup_oom_kill, limits, r);
      else {
        r.status = verdict::sandbox_error;
        r.detail = "the checker lost the candidate but the candidate left no report";
      }
    } else {
      r.status = verdict::runtime_error;
      r.detail = rec->detail.empty() ? err_tail : rec->detail;
    }
    return;
  }
  if (!o.uses_driver) {
    r.status = code == 0 ? verdict::passed : verdict::runtime_error;
    if (code != 0) r.detail = "exit code " + std::to_string(code) + (err_tail.empty() ? "" : "\n" + err_tail);
    return;
  }
  if (code == 0) {
    r.status = verdict::no_result;
    r.detail = o.result_text.empty() ? "exited 0 without a result record (early exit)"
                                     : "exited 0 with an invalid result record";
    return;
  }
  if (mentions_memory_error(err_tail) && limits.memory_bytes > 0) {
    r.status = verdict::memory_limit;
    r.detail = "allocation failed under the memory limit";
    return;
  }
  r.status = verdict::runtime_error;
  r.detail = "exit code " + std::to_string(code) + (err_tail.empty() ? "" : "\n" + err_tail);
}

}  // namespace moebench::sandbox::detail
