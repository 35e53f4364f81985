#include "seccomp_filter.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace moebench::sandbox::detail {

std::string export_seccomp_filter(int fd) {
  // Default allow: the payload is already unprivileged (no capabilities, uid nobody in its
  // user namespace); the filter removes kernel attack surface and the few channels that
  // namespaces do not close.
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return "seccomp_init failed";
  std::string err;
  auto rule = [&](uint32_t action, const char* name) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return;  // not on this architecture
    const int rc = seccomp_rule_add(ctx, action, nr, 0);
    if (rc != 0 && err.empty()) err = std::string("seccomp_rule_add ") + name + ": " + strerror(-rc);
  };
  // Hostile by nature for a test program: kill, reported as security_violation.
  for (const char* n : {"ptrace", "process_vm_readv", "process_vm_writev", "kexec_load",
                        "kexec_file_load", "init_module", "finit_module", "delete_module", "bpf",
                        "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
                        "io_uring_register", "keyctl", "add_key", "request_key",
                        "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "kcmp",
                        "pidfd_getfd", "process_madvise", "fanotify_init", "quotactl",
                        "quotactl_fd", "iopl", "ioperm", "swapon", "swapoff", "reboot", "acct",
                        "syslog", "vhangup", "nfsservctl", "uselib", "_sysctl"})
    rule(SCMP_ACT_KILL_PROCESS, n);
  // Privileged operations a program may merely probe: fail them with EPERM.
  for (const char* n : {"mount", "umount", "umount2", "pivot_root", "chroot", "setns", "unshare",
                        "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
                        "mount_setattr", "sethostname", "setdomainname", "settimeofday",
                        "clock_settime", "clock_adjtime", "adjtimex", "personality", "flock",
                        "mknod", "mknodat"})
    rule(SCMP_ACT_ERRNO(EPERM), n);
  // clone3 passes its flags in memory, out of reach of the filter: ENOSYS makes glibc fall
  // back to clone, whose namespace flags are checked below.
  rule(SCMP_ACT_ERRNO(ENOSYS), "clone3");
  for (uint64_t flag : {uint64_t{CLONE_NEWUSER}, uint64_t{CLONE_NEWNS}, uint64_t{CLONE_NEWPID},
                        uint64_t{CLONE_NEWNET}, uint64_t{CLONE_NEWIPC}, uint64_t{CLONE_NEWUTS},
                        uint64_t{CLONE_NEWCGROUP}}) {
    const int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                    SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc != 0 && err.empty()) err = std::string("seccomp clone rule: ") + strerror(-rc);
  }
  // Typing into a terminal (TIOCSTI, TIOCLINUX) and file locks on shared read-only files
  // (a channel between concurrent runs) are refused.
  for (uint64_t req : {uint64_t{TIOCSTI}, uint64_t{TIOCLINUX}}) {
    const int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, req));
    if (rc != 0 && err.empty()) err = std::string("seccomp ioctl rule: ") + strerror(-rc);
  }
  for (uint64_t cmd : {uint64_t{F_SETLK}, uint64_t{F_SETLKW}, uint64_t{F_OFD_SETLK},
                       uint64_t{F_OFD_SETLKW}}) {
    const int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 1,
                                    SCMP_A1(SCMP_CMP_EQ, cmd));
    if (rc != 0 && err.empty()) err = std::string("seccomp fcntl rule: ") + strerror(-rc);
  }
  if (err.empty()) {
    const int rc = seccomp_export_bpf(ctx, fd);
    if (rc != 0) err = std::string("seccomp_export_bpf: ") + strerror(-rc);
  }
  seccomp_release(ctx);
  return err;
}

}  // namespace moebench::sandbox::detail
