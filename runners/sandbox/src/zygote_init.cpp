// The "ns" backend's sandbox instance, C++ half. One instance per harness worker:
//
//   harness --posix_spawn--> outer (host pid ns) --unshare user,mnt,net,uts,ipc,pid,cgroup-->
//     PID 1 (this file, reaps orphans) --fork/exec--> warm Python zygote (driver.py "zygote")
//
// The outer process waits for a "G" byte on the control socket (fd 3) so that the harness can
// first place it in the instance's cgroups, then builds the namespaces. PID 1 builds a minimal
// read-only root (tmpfs with read-only binds of /usr and the few /etc files the loader needs,
// a handful of /dev nodes, a fresh /proc), pivots into it, compiles the seccomp filter into a
// memfd and execs the Python zygote with fd 3 = control socket and fd 4 = filter. Everything
// per sample (fresh pid/mount/ipc namespaces, tmpfs, uid, caps, seccomp) happens in the zygote.
#include "zygote_init.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "seccomp_filter.h"

namespace moebench::embedded {
extern const std::string_view sandbox_driver_py;
}

namespace moebench::sandbox::detail {
namespace {

constexpr int control_fd = 3;
constexpr int filter_fd = 4;

[[noreturn]] void die(const std::string& what) {
  const std::string msg = "moebench-sandbox-init: " + what + ": " + strerror(errno) + "\n";
  (void)!write(2, msg.data(), msg.size());
  _exit(120);
}

void make_readonly(const std::string& path, bool nodev) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
  if (nodev) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (syscall(SYS_mount_setattr, AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof attr) == 0)
    return;
  // Older kernels: remount the top mount only.
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID;
  if (nodev) flags |= MS_NODEV;
  if (mount(nullptr, path.c_str(), nullptr, flags, nullptr) != 0) die("remount read-only " + path);
}

void bind_ro(const std::string& src, const std::string& dst, bool is_dir, bool nodev = true) {
  struct stat st{};
  if (lstat(src.c_str(), &st) != 0) return;  // optional on this host
  if (is_dir) {
    mkdir(dst.c_str(), 0755);
  } else {
    const int fd = open(dst.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) die("create mount point " + dst);
    close(fd);
  }
  if (mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) die("bind " + src);
  make_readonly(dst, nodev);
}

// The sandbox's view of the system: everything absent unless listed here.
void build_root(const std::string& root) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("make / private");
  if (mount("tmpfs", root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=1024,mode=0755") != 0)
    die("mount root tmpfs");
  bind_ro("/usr", root + "/usr", true);
  // Merged-/usr hosts have symlinks here; others have real directories.
  for (const char* top : {"bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    const std::string src = std::string("/") + top;
    struct stat st{};
    if (lstat(src.c_str(), &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[256];
      const ssize_t n = readlink(src.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      if (symlink(target, (root + src).c_str()) != 0) die("symlink " + src);
    } else if (S_ISDIR(st.st_mode)) {
      bind_ro(src, root + src, true);
    }
  }
  mkdir((root + "/etc").c_str(), 0755);
  for (const char* f : {"/etc/ld.so.cache", "/etc/ld.so.conf"}) bind_ro(f, root + f, false);
  for (const char* d : {"/etc/ld.so.conf.d", "/etc/alternatives"}) bind_ro(d, root + d, true);
  mkdir((root + "/dev").c_str(), 0755);
  for (const char* d : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"})
    bind_ro(d, root + d, false, /*nodev=*/false);
  // Device nodes must stay writable (writing to /dev/null): undo the read-only flag on them.
  for (const char* d : {"/dev/null", "/dev/zero", "/dev/full"}) {
    const std::string p = root + d;
    mount_attr attr{};
    attr.attr_clr = MOUNT_ATTR_RDONLY;
    syscall(SYS_mount_setattr, AT_FDCWD, p.c_str(), 0, &attr, sizeof attr);
  }
  symlink("/proc/self/fd", (root + "/dev/fd").c_str());
  symlink("/proc/self/fd/0", (root + "/dev/stdin").c_str());
  symlink("/proc/self/fd/1", (root + "/dev/stdout").c_str());
  symlink("/proc/self/fd/2", (root + "/dev/stderr").c_str());
  for (const char* d : {"/dev/shm", "/proc", "/tmp", "/work", "/.oldroot"})
    mkdir((root + d).c_str(), 0755);
  // We are PID 1 of a new pid namespace: this /proc shows only the sandbox's processes.
  if (mount("proc", (root + "/proc").c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    die("mount proc");
  if (syscall(SYS_pivot_root, root.c_str(), (root + "/.oldroot").c_str()) != 0) die("pivot_root");
  if (chdir("/") != 0) die("chdir /");
  if (umount2("/.oldroot", MNT_DETACH) != 0) die("umount old root");
  rmdir("/.oldroot");
  if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    die("remount / read-only");
}

}  // namespace

void run_zygote(int argc, char** argv) {
  if (argc < 3) {
    errno = EINVAL;
    die("usage: moebench-sandbox-init zygote PYTHON [--no-userns] [--hash-seed=N]");
  }
  const std::string python = argv[2];
  bool userns = true;
  std::string hash_seed = "0";
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-userns") {
      userns = false;
    } else if (a.starts_with("--hash-seed=") && a.size() > 12 && a.size() <= 22 &&
               a.find_first_not_of("0123456789", 12) == std::string::npos) {
      hash_seed = a.substr(12);
    } else {
      errno = EINVAL;
      die("unknown argument " + a);
    }
  }
  // No parent-death signal here: it would fire when the harness *thread* that spawned us ends.
  // The harness's death closes the control socket instead, and the zygote exits on EOF.
  char go = 0;
  if (read(control_fd, &go, 1) != 1 || go != 'G') die("waiting for the go byte");

  const uid_t uid = getuid();
  const gid_t gid = getgid();
  // clone() straight into every namespace: the child is PID 1 of the new pid namespace. The id
  // maps must be written by a process of the parent user namespace (us), so the child waits.
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) die("pipe");
  const long flags = (userns ? CLONE_NEWUSER : 0) | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS |
                     CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWCGROUP | SIGCHLD;
  const long init = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0L);
  if (init < 0) die("clone into new namespaces");
  if (init > 0) {
    close(sync[0]);
    close(control_fd);
    const pid_t child = static_cast<pid_t>(init);
    if (userns) {
      const std::string base = "/proc/" + std::to_string(child);
      auto put = [&](const std::string& file, const std::string& value) {
        const int fd = open((base + file).c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
          kill(child, SIGKILL);
          die("write " + file);
        }
        close(fd);
      };
      if (uid == 0) {
        // Root maps itself and nobody: payloads run as the real nobody, never as root.
        put("/uid_map", "0 0 1\n65534 65534 1\n");
        put("/gid_map", "0 0 1\n65534 65534 1\n");
      } else {
        put("/setgroups", "deny");
        put("/uid_map", "0 " + std::to_string(uid) + " 1\n");
        put("/gid_map", "0 " + std::to_string(gid) + " 1\n");
      }
    }
    if (write(sync[1], "1", 1) != 1) die("release the sandbox init");
    close(sync[1]);
    // The outer process only relays the instance's end to the harness.
    int st = 0;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
  close(sync[1]);
  char one = 0;
  if (read(sync[0], &one, 1) != 1) _exit(122);
  close(sync[0]);
  if (userns && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
    die("become root in the user namespace");
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  build_root("/tmp");
  if (sethostname("sandbox", 7) != 0) die("sethostname");
  const int bpf = memfd_create("moebench-seccomp", MFD_CLOEXEC);
  if (bpf < 0) die("memfd_create");
  const std::string err = export_seccomp_filter(bpf);
  if (!err.empty()) {
    errno = 0;
    die(err);
  }
  lseek(bpf, 0, SEEK_SET);
  const pid_t zygote = fork();
  if (zygote < 0) die("fork zygote");
  if (zygote == 0) {
    if (bpf == filter_fd) {
      fcntl(bpf, F_SETFD, 0);
    } else if (dup2(bpf, filter_fd) != filter_fd) {
      die("dup2 filter");
    }
    const std::string driver(moebench::embedded::sandbox_driver_py);
    // -s, not -I: -I implies -E, which ignores PYTHONHASHSEED. The environment is entirely
    // ours, and the driver drops the '' that -c puts on sys.path.
    std::vector<const char*> args = {python.c_str(), "-s", "-c", driver.c_str(), "zygote", nullptr};
    const std::string seed_var = "PYTHONHASHSEED=" + hash_seed;
    const char* env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
                         "TZ=UTC", seed_var.c_str(), "PYTHONDONTWRITEBYTECODE=1",
                         "PYTHONIOENCODING=utf-8", "HOME=/work", "TMPDIR=/tmp", nullptr};
    execve(python.c_str(), const_cast<char**>(args.data()), const_cast<char**>(env));
    die("exec " + python);
  }
  close(bpf);
  close(control_fd);
  // PID 1: reap every orphan until the zygote itself is gone.
  for (;;) {
    int st = 0;
    const pid_t p = waitpid(-1, &st, 0);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) _exit(121);
    if (p == zygote) _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  }
}

}  // namespace moebench::sandbox::detail
