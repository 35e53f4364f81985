// moebench-sandbox-init: the small supervisor between the harness and one untrusted payload.
//
//   moebench-sandbox-init run WALL_MS CPU_S AS_BYTES FSIZE_BYTES NOFILE NPROC UID GID WORKDIR
//                         -- PROGRAM ARGS...
//
// The harness starts it (posix_spawn, new session) with fd 0 = /dev/null, 1/2 = capped pipes,
// 3 = status pipe (ours only), 4 = nonce pipe and 5 = result pipe (the payload's). It becomes a
// child subreaper, forks the payload into its own process group with the rlimits and uid
// applied, enforces the wall deadline, measures the payload with wait4, kills every descendant
// once the payload is gone (orphans included: they are re-parented to us) and reports on fd 3.
// SIGUSR1 from the harness means "output cap hit, kill now"; SIGTERM means shutdown.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "init_report.h"
#include "zygote_init.h"

namespace {
using moebench::sandbox::detail::init_kill;
using moebench::sandbox::detail::init_report;

constexpr int status_fd = 3;

int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void fail_early(const std::string& msg) {
  init_report r;
  r.error = msg;
  const std::string s = moebench::sandbox::detail::format_init_report(r);
  (void)!write(status_fd, s.data(), s.size());
  _exit(111);
}

int64_t to_i64(const char* s) {
  int64_t v = 0;
  const std::string_view sv(s);
  const auto [p, ec] = std::from_chars(sv.data(), sv.data() + sv.size(), v);
  if (ec != std::errc() || p != sv.data() + sv.size())
    fail_early(std::string("bad numeric argument '") + s + "'");
  return v;
}

void set_limit(int resource, int64_t soft, int64_t hard) {
  rlimit rl{};
  rl.rlim_cur = soft < 0 ? RLIM_INFINITY : static_cast<rlim_t>(soft);
  rl.rlim_max = hard < 0 ? RLIM_INFINITY : static_cast<rlim_t>(hard);
  setrlimit(resource, &rl);  // failure leaves a weaker limit; the parent-side deadline holds
}

// Children of `parent` by scanning /proc (CONFIG_PROC_CHILDREN is often absent).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string path = std::string("/proc/") + e->d_name + "/stat";
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    const ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    // The comm field may contain spaces and parentheses: ppid follows the last ')'.
    const char* rp = strrchr(buf, ')');
    if (rp == nullptr) continue;
    char state = 0;
    int ppid = 0;
    if (sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
      out.push_back(static_cast<pid_t>(atoi(e->d_name)));
  }
  closedir(d);
  return out;
}

struct supervisor {
  pid_t payload = -1;
  bool payload_done = false;
  init_report report;
  int64_t leftovers = 0;

  void reap_ready() {
    for (;;) {
      int st = 0;
      rusage ru{};
      const pid_t p = wait4(-1, &st, WNOHANG | __WALL, &ru);
      if (p <= 0) return;
      if (p == payload) {
        payload_done = true;
        report.payload_reaped = true;
        report.wait_status = st;
        report.end_ns = mono_ns();
        report.utime_ns = int64_t{ru.ru_utime.tv_sec} * 1'000'000'000 + ru.ru_utime.tv_usec * 1000;
        report.stime_ns = int64_t{ru.ru_stime.tv_sec} * 1'000'000'000 + ru.ru_stime.tv_usec * 1000;
        report.maxrss_kib = ru.ru_maxrss;
        report.nvcsw = ru.ru_nvcsw;
        report.nivcsw = ru.ru_nivcsw;
      }
    }
  }

  void kill_payload_group() {
    if (payload > 0) {
      kill(-payload, SIGCONT);
      kill(-payload, SIGKILL);
      kill(payload, SIGKILL);
    }
  }

  // Kills every remaining descendant, including those that left the process group, and reaps
  // them all. Orphans are re-parented to us (child subreaper), so repeated scans find them.
  void kill_everything() {
    kill_payload_group();
    for (int round = 0;; ++round) {
      reap_ready();
      const auto kids = children_of(getpid());
      if (kids.empty()) {
        int st = 0;
        if (waitpid(-1, &st, WNOHANG | __WALL) < 0 && errno == ECHILD) return;
      }
      for (pid_t k : kids) {
        ++leftovers;
        kill(k, SIGCONT);
        kill(k, SIGKILL);
        kill(-k, SIGKILL);
      }
      if (round > 0) {
        timespec ts{0, 2'000'000};
        nanosleep(&ts, nullptr);
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "zygote") moebench::sandbox::detail::run_zygote(argc, argv);
  if (argc < 13 || std::string_view(argv[1]) != "run" || std::string_view(argv[11]) != "--")
    fail_early("usage: moebench-sandbox-init run WALL_MS CPU_S AS FSIZE NOFILE NPROC UID GID "
               "WORKDIR -- PROGRAM ARGS...");
  const int64_t wall_ms = to_i64(argv[2]);
  const int64_t cpu_s = to_i64(argv[3]);
  const int64_t as_bytes = to_i64(argv[4]);
  const int64_t fsize = to_i64(argv[5]);
  const int64_t nofile = to_i64(argv[6]);
  const int64_t nproc = to_i64(argv[7]);
  const int64_t uid = to_i64(argv[8]);
  const int64_t gid = to_i64(argv[9]);
  const char* workdir = argv[10];
  char** prog = argv + 12;

  // If the harness dies, so do we (and then the payload through its own death signal).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) _exit(112);
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) fail_early(std::string("signalfd: ") + strerror(errno));
  fcntl(status_fd, F_SETFD, FD_CLOEXEC);

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) fail_early(std::string("pipe: ") + strerror(errno));

  supervisor sup;
  sup.report.start_ns = mono_ns();
  const pid_t pid = fork();
  if (pid < 0) fail_early(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    close(exec_pipe[0]);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigprocmask(SIG_UNBLOCK, &mask, nullptr);
    signal(SIGPIPE, SIG_DFL);
    auto die = [&](const char* what) {
      const int e = errno;
      std::string msg = std::string(what) + ": " + strerror(e);
      (void)!write(exec_pipe[1], msg.data(), msg.size());
      _exit(127);
    };
    if (chdir(workdir) != 0) die("chdir");
    if (cpu_s > 0) set_limit(RLIMIT_CPU, cpu_s, cpu_s + 1);
    if (as_bytes > 0) set_limit(RLIMIT_AS, as_bytes, as_bytes);
    if (fsize > 0) set_limit(RLIMIT_FSIZE, fsize, fsize);
    if (nofile > 0) set_limit(RLIMIT_NOFILE, nofile, nofile);
    set_limit(RLIMIT_CORE, 0, 0);
    if (gid >= 0) {
      if (setgroups(0, nullptr) != 0) die("setgroups");
      if (setresgid(static_cast<gid_t>(gid), static_cast<gid_t>(gid), static_cast<gid_t>(gid)) != 0)
        die("setresgid");
    }
    // RLIMIT_NPROC does not bind real root: it is only meaningful after the uid change.
    if (nproc > 0) set_limit(RLIMIT_NPROC, nproc, nproc);
    if (uid >= 0) {
      if (setresuid(static_cast<uid_t>(uid), static_cast<uid_t>(uid), static_cast<uid_t>(uid)) != 0)
        die("setresuid");
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    execv(prog[0], prog);
    die("execv");
  }
  close(exec_pipe[1]);
  sup.payload = pid;
  setpgid(pid, pid);  // also done in the child: whichever runs first wins the race

  // The payload's exec either succeeds (EOF, pipe closed on exec) or reports why not.
  std::string exec_error;
  {
    char buf[512];
    ssize_t n;
    while ((n = read(exec_pipe[0], buf, sizeof buf)) > 0) exec_error.append(buf, static_cast<size_t>(n));
    close(exec_pipe[0]);
  }
  sup.report.start_ns = mono_ns();
  if (!exec_error.empty()) sup.report.error = "payload start failed: " + exec_error;

  const int64_t deadline = wall_ms > 0 ? sup.report.start_ns + wall_ms * 1'000'000 : -1;
  while (!sup.payload_done) {
    int timeout_ms = -1;
    if (deadline > 0) {
      const int64_t left = deadline - mono_ns();
      if (left <= 0) {
        if (sup.report.killer == init_kill::none) sup.report.killer = init_kill::wall;
        sup.kill_payload_group();
        timeout_ms = 50;
      } else {
        timeout_ms = static_cast<int>(left / 1'000'000) + 1;
      }
    }
    pollfd p{sfd, POLLIN, 0};
    const int rc = poll(&p, 1, timeout_ms);
    if (rc > 0) {
      signalfd_siginfo si{};
      while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGUSR1 && sup.report.killer == init_kill::none) {
          sup.report.killer = init_kill::output;
          sup.kill_payload_group();
        } else if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) &&
                   sup.report.killer == init_kill::none) {
          sup.report.killer = init_kill::shutdown;
          sup.kill_payload_group();
        }
      }
    }
    sup.reap_ready();
  }
  sup.kill_everything();
  sup.report.leftovers_killed = sup.leftovers;
  const std::string s = moebench::sandbox::detail::format_init_report(sup.report);
  (void)!write(status_fd, s.data(), s.size());
  return 0;
}
