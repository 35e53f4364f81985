# moebench sandbox driver: runs one untrusted Python program and reports its outcome on a
# private channel. Embedded into the moebench binary; run as `python3 -I -c <this> MODE ...`.
#
# The record written to the result fd is "MOEBENCH1 <nonce> <status> <len>\n<detail>", where
# status is passed|failed|error|memory. The nonce arrives on a pipe that is read and closed
# before the program runs, so the program cannot forge a record without digging the nonce out
# of this interpreter's memory (a documented residual risk, docs/sandbox.md).
import os as _os
import sys as _sys

_write = _os.write
_exit = _os._exit
_getpid = _os.getpid
_AssertionError = AssertionError
_MemoryError = MemoryError
_SystemExit = SystemExit
_BaseException = BaseException
_DETAIL_MAX = 4000


def _record(rfd, nonce, status, detail):
    d = detail.encode("utf-8", "replace")[:_DETAIL_MAX]
    _write(rfd, b"MOEBENCH1 " + nonce + b" " + status + b" " + str(len(d)).encode() + b"\n" + d)


def _describe_failure(exc, filename):
    import traceback
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    for fr in reversed(frames):
        if fr.filename == filename:
            where = "line %d: %s" % (fr.lineno, (fr.line or "").strip())
            break
    msg = str(exc)
    head = "AssertionError" + (": " + msg if msg else "")
    return head + ("\n" + where if where else "")


def _flush():
    for s in (_sys.stdout, _sys.stderr):
        try:
            s.flush()
        except _BaseException:
            pass


def run_program(src, filename, nonce, rfd):
    """Runs `src` as __main__; never returns."""
    pid = _getpid()
    status = b"passed"
    detail = ""
    code = 0
    try:
        compiled = compile(src, filename, "exec")
        g = {"__name__": "__main__", "__builtins__": __builtins__, "__file__": filename}
        exec(compiled, g)
    except _SystemExit:
        # An exit before completion is not a pass: no record; the exit code decides.
        _flush()
        raise
    except _AssertionError as e:
        status, code = b"failed", 1
        try:
            detail = _describe_failure(e, filename)
        except _BaseException:
            detail = "AssertionError"
    except _MemoryError:
        status, code, detail = b"memory", 1, "MemoryError"
    except _BaseException as e:
        status, code = b"error", 1
        try:
            import traceback
            lines = traceback.format_exception(e)
            _sys.stderr.write("".join(lines))
            # Keep the exception line itself, then as much of the traceback as fits before it.
            last = lines[-1][:_DETAIL_MAX // 4]
            detail = "".join(lines[:-1])[-(_DETAIL_MAX - len(last)):] + last
        except _BaseException:
            detail = type(e).__name__
    _flush()
    # A process forked by the program that falls through to here is not the driver.
    if _getpid() == pid:
        try:
            _record(rfd, nonce, status, detail)
        except _BaseException:
            _exit(70)
    _exit(code)


def _main_run():
    # process backend: argv = [-c, "run", program_path]; fd 4 = nonce (read, closed), fd 5 = result.
    nonce = _os.read(4, 128).strip()
    _os.close(4)
    path = _sys.argv[2]
    with open(path, "rb") as f:
        src = f.read()
    _sys.argv = [path]
    run_program(src, path, nonce, 5)


# ---------------------------------------------------------------------------------------------
# The warm zygote of the "ns" backend (docs/sandbox.md). Started once per harness worker inside
# the sandbox instance (user, mount, net, uts, ipc, pid namespaces; read-only root) with
# fd 3 = control socket (SOCK_SEQPACKET) and fd 4 = the seccomp filter (classic BPF). Per
# request it forks C, which unshares fresh pid, mount and ipc namespaces and forks D, PID 1 of
# the new pid namespace: D mounts /proc and private tmpfs on /work, /tmp and /dev/shm, forks the
# payload E per step, measures it with wait4, kills everything else and reports on the status
# fd. E drops to nobody with no capabilities, no_new_privs and the seccomp filter, then runs the
# program (Python in-process, warm; other languages by execve).
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_NOBODY = 65534
_PRELOAD = ("math", "re", "string", "collections", "collections.abc", "itertools", "functools",
            "heapq", "bisect", "typing", "fractions", "decimal",
            "datetime", "copy", "operator", "traceback", "linecache", "hashlib", "dataclasses",
            "enum", "json", "io", "textwrap", "numbers", "cmath", "array", "struct", "time")


def _main_zygote():
    import ctypes
    import fcntl
    import json
    import resource
    import select
    import signal
    import socket
    import time
    for m in _PRELOAD:
        try:
            __import__(m)
        except _BaseException:
            pass
    import gc
    libc = ctypes.CDLL(None, use_errno=True)
    bpf = b""
    while True:
        chunk = _os.read(4, 65536)
        if not chunk:
            break
        bpf += chunk
    _os.close(4)

    class _sock_fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    # The zygote never execs: dropping the bounding set here keeps its own capabilities and
    # removes them from every payload's future execve.
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    own_pid_ns = _os.open("/proc/self/ns/pid", _os.O_RDONLY | _os.O_CLOEXEC)
    bpf_buf = ctypes.create_string_buffer(bpf, len(bpf))
    fprog = _sock_fprog(len(bpf) // 8, ctypes.cast(bpf_buf, ctypes.c_char_p))
    ctl = socket.socket(fileno=3)

    def check(rc, what):
        if rc != 0:
            e = ctypes.get_errno()
            raise OSError(e, "%s: %s" % (what, _os.strerror(e)))

    def mount_tmpfs(path, size, mode, uid):
        opts = ("size=%d,nr_inodes=16384,mode=%s" % (max(size, 1 << 20), mode)).encode()
        check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, opts),
              "mount tmpfs " + path)
        _os.chown(path, uid, uid)

    def init_line(**kw):
        keys = ("status", "reaped", "utime_ns", "stime_ns", "maxrss_kib", "start_ns", "end_ns",
                "nvcsw", "nivcsw", "leftovers")
        s = "INIT1" + "".join(" %s=%d" % (k, int(kw.get(k, 0))) for k in keys)
        s += " killer=" + kw.get("killer", "none") + " error=" + kw.get("error", "").replace("\n", " ")
        return (s + "\n").encode()

    def payload(step, req, body_files, fds, err_w):
        # E: never returns.
        try:
            out_w, err_fd, res_w = fds
            _os.setsid()
            signal.setitimer(signal.ITIMER_REAL, 0)
            for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            null = _os.open("/dev/null", _os.O_RDONLY)
            _os.dup2(null, 0)
            _os.dup2(out_w, 1)
            _os.dup2(err_fd, 2)
            keep = {0, 1, 2, err_w}
            nonce = req["nonce"].encode()
            if step.get("driver") and not step.get("python"):
                r, w = _os.pipe()
                _os.write(w, nonce + b"\n")
                _os.close(w)
                high = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 300)
                _os.close(r)
                _os.dup2(high, 4)
                keep.add(4)
            if step.get("driver"):
                _os.dup2(res_w, 5)
                keep.add(5)
            lo = 3
            for k in sorted(keep):
                if k >= lo:
                    _os.closerange(lo, k)
                    lo = k + 1
            _os.closerange(lo, 65536)
            _os.chdir("/work")
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                   "TZ": "UTC", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
                   "PYTHONIOENCODING": "utf-8", "HOME": "/work", "TMPDIR": "/tmp"}
            _os.environ.clear()
            _os.environ.update(env)
            lim = step["limits"]
            if lim["cpu_s"] > 0:
                resource.setrlimit(resource.RLIMIT_CPU, (lim["cpu_s"], lim["cpu_s"] + 1))
            for res, key in ((resource.RLIMIT_AS, "as"), (resource.RLIMIT_FSIZE, "fsize"),
                             (resource.RLIMIT_NOFILE, "nofile"), (resource.RLIMIT_NPROC, "nproc")):
                if lim[key] > 0:
                    resource.setrlimit(res, (lim[key], lim[key]))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            try:
                with open("/proc/self/oom_score_adj", "w") as f:
                    f.write("1000")
            except OSError:
                pass
            uid = req["uid"]
            _os.setgroups([])
            _os.setresgid(uid, uid, uid)
            _os.setresuid(uid, uid, uid)
            if uid == 0:
                # Unprivileged host: no nobody mapping, drop every capability explicitly.
                hdr = (ctypes.c_uint32 * 2)(0x20080522, 0)
                data = (ctypes.c_uint32 * 6)()
                check(libc.capset(hdr, data), "capset")
            check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
            check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
                  "seccomp")
            if step.get("python"):
                src = body_files[req["source"]]
                body_files.clear()
                _os.close(err_w)
                _sys.argv = [req["source"]]
                signal.signal(signal.SIGPIPE, signal.SIG_IGN)
                try:
                    run_program(src, req["source"], nonce, 5)
                except _SystemExit as e:
                    # What the interpreter itself does with an uncaught SystemExit.
                    code = e.code
                    if code is None:
                        code = 0
                    elif not isinstance(code, int):
                        try:
                            _sys.stderr.write(str(code) + "\n")
                        except _BaseException:
                            pass
                        code = 1
                    _flush()
                    _exit(code & 0xFF)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            argv = step["argv"]
            _os.execve(argv[0], argv, env)
        except _BaseException as e:
            try:
                _os.write(err_w, ("payload setup: %r" % (e,)).encode())
            except _BaseException:
                pass
        _exit(127)

    def sample_init(req, body_files, fds, st_w):
        # D: PID 1 of the sample's pid namespace. Never returns.
        try:
            uid = req["uid"]
            check(libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None),
                  "mount proc")
            mount_tmpfs("/work", req["tmpfs_bytes"], "0755", uid)
            mount_tmpfs("/tmp", req["tmpfs_bytes"], "1777", uid)
            mount_tmpfs("/dev/shm", req["tmpfs_bytes"], "1777", uid)
            for name, data in body_files.items():
                path = "/work/" + name
                d = _os.path.dirname(path)
                if d != "/work":
                    _os.makedirs(d, exist_ok=True)
                    p = d
                    while p != "/work":
                        _os.chown(p, uid, uid)
                        p = _os.path.dirname(p)
                with open(path, "wb") as f:
                    f.write(data)
                _os.chown(path, uid, uid)
        except _BaseException as e:
            _os.write(st_w, init_line(error="sample setup: %r" % (e,)))
            _exit(1)
        killer = ["none"]

        def on_kill(signum, frame):
            if killer[0] == "none":
                killer[0] = "wall" if signum == signal.SIGUSR1 else "output"
            try:
                _os.kill(-1, signal.SIGKILL)
            except OSError:
                pass

        def on_alarm(signum, frame):
            if killer[0] == "none":
                killer[0] = "wall"
            try:
                _os.kill(-1, signal.SIGKILL)
            except OSError:
                pass

        signal.signal(signal.SIGUSR1, on_kill)
        signal.signal(signal.SIGUSR2, on_kill)
        signal.signal(signal.SIGALRM, on_alarm)
        for step in req["steps"]:
            er, ew0 = _os.pipe2(_os.O_CLOEXEC)
            ew = fcntl.fcntl(ew0, fcntl.F_DUPFD_CLOEXEC, 200)
            _os.close(ew0)
            start = time.monotonic_ns()
            e = _os.fork()
            if e == 0:
                _os.close(er)
                _os.close(st_w)
                payload(step, req, body_files, fds, ew)
            _os.close(ew)
            setup_err = b""
            while True:
                chunk = _os.read(er, 4096)
                if not chunk:
                    break
                setup_err += chunk
            _os.close(er)
            start = time.monotonic_ns() if not setup_err else start
            # Each step has its own wall deadline (a build must not eat the run's time); the
            # zygote's deadline over all steps is only a backstop.
            signal.setitimer(signal.ITIMER_REAL, max(step["wall_ms"], 1) / 1000.0)
            while True:
                pid, status, ru = _os.wait4(-1, 0)
                if pid == e:
                    break
            signal.setitimer(signal.ITIMER_REAL, 0)
            end = time.monotonic_ns()
            leftovers = 0
            try:
                _os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            while True:
                try:
                    _os.wait4(-1, 0)
                    leftovers += 1
                except ChildProcessError:
                    break
            line = init_line(status=status, reaped=1, utime_ns=ru.ru_utime * 1e9,
                             stime_ns=ru.ru_stime * 1e9, maxrss_kib=ru.ru_maxrss, start_ns=start,
                             end_ns=end, nvcsw=ru.ru_nvcsw, nivcsw=ru.ru_nivcsw,
                             leftovers=leftovers, killer=killer[0],
                             error=("" if not setup_err else setup_err.decode("utf-8", "replace")))
            _os.write(st_w, line)
            if killer[0] != "none" or setup_err or status != 0:
                break
        _exit(0)

    def serve(header, fds):
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]
        for fd in fds:
            _os.close(fd)
        fds = high
        req = json.loads(header)
        out_w, err_w, res_w, st_w, body_fd = fds
        body = b""
        while True:
            chunk = _os.read(body_fd, 1 << 20)
            if not chunk:
                break
            body += chunk
        body_files = {}
        off = 0
        for name, n in req["files"]:
            body_files[name] = body[off:off + n]
            off += n
        del body
        # Fresh pid namespace for the next child only: unshare, fork, then point
        # pid_ns_for_children back at our own namespace (an unshare can happen only once).
        check(libc.unshare(_CLONE_NEWPID), "unshare(CLONE_NEWPID)")
        try:
            dpid = _os.fork()
            if dpid == 0:
                try:
                    ctl.close()
                    _os.close(body_fd)
                    check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWIPC), "unshare(mnt, ipc)")
                except _BaseException as e:
                    try:
                        _os.write(st_w, init_line(error="sample start: %r" % (e,)))
                    except _BaseException:
                        pass
                    _exit(2)
                sample_init(req, body_files, (out_w, err_w, res_w), st_w)
        finally:
            check(libc.setns(own_pid_ns, _CLONE_NEWPID), "setns(pid)")
        for fd in (out_w, err_w, res_w, body_fd):
            _os.close(fd)
        body_files = None
        killer = "none"
        try:
            pidfd = _os.pidfd_open(dpid)
        except OSError:
            pidfd = None
        deadline = time.monotonic() + req["wall_ms"] / 1000.0 + 1.0
        signalled_at = None
        poller = select.poll()
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
            poller.register(ctl.fileno(), select.POLLIN)
        while pidfd is not None:
            now = time.monotonic()
            if killer == "none" and now >= deadline:
                killer = "wall"
                _os.kill(dpid, signal.SIGUSR1)
                signalled_at = now
            if signalled_at is not None and now - signalled_at > 1.0:
                _os.kill(dpid, signal.SIGKILL)
                signalled_at = None
            wait_s = (deadline - now) if killer == "none" else 0.05
            events = poller.poll(max(1, int(wait_s * 1000) + 1))
            done = False
            for fd, ev in events:
                if fd == pidfd:
                    done = True
                elif fd == ctl.fileno():
                    m = ctl.recv(64)
                    if not m:
                        _os.kill(dpid, signal.SIGKILL)
                        _exit(0)
                    if m == b"K" and killer == "none":
                        killer = "output"
                        _os.kill(dpid, signal.SIGUSR2)
                        signalled_at = time.monotonic()
            if done:
                break
        if pidfd is not None:
            _os.close(pidfd)
        _, cst = _os.waitpid(dpid, 0)
        if cst != 0:
            # D did not finish its report (killed, or setup failed after reporting).
            try:
                _os.write(st_w, init_line(killer=killer,
                                          error="" if killer != "none" else "sample init lost"))
            except OSError:
                pass
        _os.close(st_w)

    # Everything allocated so far is shared copy-on-write with every sample: keep the collector
    # from walking (and so writing to) those pages in the children.
    gc.collect()
    gc.freeze()
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctl, 1 << 20, 8)
        except OSError:
            _exit(0)
        if not msg:
            _exit(0)
        if msg == b"K":
            for fd in fds:
                _os.close(fd)
            continue
        if len(fds) != 5:
            for fd in fds:
                _os.close(fd)
            continue
        serve(msg, fds)


if __name__ == "__main__":
    if len(_sys.argv) >= 2 and _sys.argv[1] == "run":
        _main_run()
    elif len(_sys.argv) >= 2 and _sys.argv[1] == "zygote":
        _main_zygote()
    else:
        _sys.stderr.write("moebench driver: bad mode\n")
        _exit(64)
