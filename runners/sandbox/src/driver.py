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
            detail = "".join(traceback.format_exception(e))
            _sys.stderr.write(detail)
        except _BaseException:
            detail = type(e).__name__
        detail = detail[-_DETAIL_MAX:]
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


if __name__ == "__main__":
    if len(_sys.argv) >= 2 and _sys.argv[1] == "run":
        _main_run()
    else:
        _sys.stderr.write("moebench driver: bad mode\n")
        _exit(64)
