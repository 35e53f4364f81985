# moebench sandbox driver: runs one untrusted Python program and reports its outcome on a
# private channel. Embedded into the moebench binary; run as `python3 -s -c <this> MODE ...`
# with an environment the harness controls entirely (PYTHONHASHSEED comes from the run's named
# seed, so `-E`/`-I`, which would ignore it, are not used; the `''` entry that `-c` puts on
# sys.path is removed below).
#
# The record written to the result fd is "MOEBENCH1 <nonce> <status> <len>\n<detail>", where
# status is passed|failed|error|memory, and in split grading also violation|lost|unsupported.
#
# In-process grading: the program (prompt + completion + tests) runs in this interpreter; the
# nonce arrives on a pipe that is read and closed before the program runs. A program written to
# attack the harness can dig it out of this interpreter's memory: in-process verdicts are
# forgeable (docs/grading.md).
#
# Split grading (docs/grading.md): the candidate (prompt + completion) runs in one sandboxed
# process, the checker (prompt helpers, tests, check(...)) in another, in sibling pid namespaces.
# The checker calls the entry points through proxies over a socket that carries plain data only
# (the codec below); only the checker holds the result fd, and a verdict is written only when the
# checker's program finished and nothing went wrong on the channel.
import os as _os
import sys as _sys

if _sys.path and _sys.path[0] == "":
    del _sys.path[0]

# The driver's own names for the builtins it uses: a program that replaces builtins.len (or
# others) changes its own behaviour, not the driver's.
(len, type, isinstance, bytes, bytearray, memoryview, tuple, list, dict, set, frozenset, int,
 float, complex, str, range, enumerate, zip, min, max, sum, map, iter, next, any, sorted, id,
 getattr, repr, print, compile, exec, open, hasattr, callable, issubclass, vars, object,
 Exception, OSError, ValueError, TypeError, KeyError, NameError, RecursionError, MemoryError,
 UnicodeDecodeError, ChildProcessError, OverflowError) = (
    len, type, isinstance, bytes, bytearray, memoryview, tuple, list, dict, set, frozenset, int,
    float, complex, str, range, enumerate, zip, min, max, sum, map, iter, next, any, sorted, id,
    getattr, repr, print, compile, exec, open, hasattr, callable, issubclass, vars, object,
    Exception, OSError, ValueError, TypeError, KeyError, NameError, RecursionError, MemoryError,
    UnicodeDecodeError, ChildProcessError, OverflowError)

_write = _os.write
_read = _os.read
_exit = _os._exit
_getpid = _os.getpid
_AssertionError = AssertionError
_MemoryError = MemoryError
_SystemExit = SystemExit
_BaseException = BaseException
_DETAIL_MAX = 4000
# The run's named seed (docs/grading.md): the interpreter's hash seed, and `random`'s seed.
try:
    _SEED = int(_os.environ.get("PYTHONHASHSEED", "0"))
except ValueError:
    _SEED = 0


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


def _seed_random(seed):
    # Programs that use `random` without seeding it get the same numbers on every run.
    try:
        import random
        random.seed(seed)
    except _BaseException:
        pass


def _run_and_report(body, filename, nonce, rfd, verdict_override=None):
    """Runs body() (which executes the program) and writes the record; never returns.
    verdict_override() may return (status, detail) that replaces the program's own outcome."""
    pid = _getpid()
    status = b"passed"
    detail = ""
    code = 0
    try:
        body()
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
    if verdict_override is not None:
        o = verdict_override()
        if o is not None:
            status, detail = o
            code = 1
    _flush()
    # A process forked by the program that falls through to here is not the driver.
    if _getpid() == pid:
        try:
            _record(rfd, nonce, status, detail)
        except _BaseException:
            _exit(70)
    _exit(code)


def run_program(src, filename, nonce, rfd):
    """In-process grading: runs `src` as __main__; never returns."""
    def body():
        compiled = compile(src, filename, "exec")
        g = {"__name__": "__main__", "__builtins__": __builtins__, "__file__": filename}
        exec(compiled, g)
    _run_and_report(body, filename, nonce, rfd)


# ---------------------------------------------------------------------------------------------
# Plain data on the call channel. A value is None, bool, int, float, complex, str, bytes, or a
# list / tuple / dict / set / frozenset of values, of exactly these types (no subclasses), at
# most _MAX_DEPTH deep, _MAX_ITEMS values and _MAX_FRAME bytes in all. The encoding is ours (not
# pickle or marshal): the decoder builds only those builtin types, so nothing the candidate sends
# can run code in the checker. Frames: 4-byte little-endian length, then one encoded tuple.
import struct as _struct
from array import array as _array

_BIG_ENDIAN = _sys.byteorder == "big"

_MAX_FRAME = 32 << 20
_MAX_DEPTH = 64
_MAX_ITEMS = 4000000
_MAX_INT_BYTES = 1 << 16
_MAX_TEXT = 2000
_u32 = _struct.Struct("<I")
_f64 = _struct.Struct("<d")
_c128 = _struct.Struct("<dd")
_SEQ_TAGS = {list: b"l", tuple: b"t", set: b"S", frozenset: b"z"}
_SCALARS = (type(None), bool, int, float, complex, str, bytes)


class _NotPlain(Exception):
    def __init__(self, reason):
        Exception.__init__(self, reason)
        self.reason = reason
        self.path = []

    def describe(self, what):
        return "%s%s %s" % (what, "".join("[%r]" % (p,) for p in self.path[:4]), self.reason)


class _Malformed(Exception):
    pass


def _type_name(x):
    try:
        n = type(x).__name__
        return n if type(n) is str else "?"
    except _BaseException:
        return "?"


def _enc(x, out, depth, budget, skip=None):
    if skip is not None and type(x) is list and id(x) in skip:
        # A long list received as a packed array: compared separately (see run_candidate).
        out += b"P" + _u32.pack(skip[id(x)])
        return
    if depth > _MAX_DEPTH:
        raise _NotPlain("is nested deeper than %d levels" % _MAX_DEPTH)
    budget[0] += 1
    if budget[0] > _MAX_ITEMS or len(out) > _MAX_FRAME:
        raise _NotPlain("is larger than the limit of %d values / %d bytes" % (_MAX_ITEMS, _MAX_FRAME))
    t = type(x)
    if x is None:
        out += b"N"
    elif t is bool:
        out += b"T" if x else b"F"
    elif t is int:
        n = (x.bit_length() + 8) // 8
        if n > _MAX_INT_BYTES:
            raise _NotPlain("is an int of more than %d bytes" % _MAX_INT_BYTES)
        out += b"i" + _u32.pack(n) + x.to_bytes(n, "little", signed=True)
    elif t is float:
        out += b"f" + _f64.pack(x)
    elif t is complex:
        out += b"c" + _c128.pack(x.real, x.imag)
    elif t is str or t is bytes:
        b = x.encode("utf-8", "surrogatepass") if t is str else x
        if len(b) > _MAX_FRAME:
            raise _NotPlain("is larger than %d bytes" % _MAX_FRAME)
        out += (b"s" if t is str else b"b") + _u32.pack(len(b)) + b
    elif t is _Ref:
        out += b"R" + _u32.pack(x.key)
    elif t in _SEQ_TAGS:
        if (t is list or t is tuple) and len(x) >= 16 and _enc_array(x, t, out, budget):
            if t is list:
                _ENCODED_LISTS.append(x)
            return
        out += _SEQ_TAGS[t] + _u32.pack(len(x))
        i = 0
        for v in x:
            try:
                _enc(v, out, depth + 1, budget, skip)
            except _NotPlain as e:
                e.path.insert(0, i)
                raise
            i += 1
    elif t is dict:
        out += b"d" + _u32.pack(len(x))
        for k, v in x.items():
            try:
                _enc(k, out, depth + 1, budget, skip)
                _enc(v, out, depth + 1, budget, skip)
            except _NotPlain as e:
                e.path.insert(0, k if type(k) in (str, int) else "?")
                raise
    else:
        raise _NotPlain("has type %s, which is not plain data (allowed: None, bool, int, float, "
                        "complex, str, bytes, and list, tuple, dict, set, frozenset of these; "
                        "no subclasses)" % _type_name(x)[:100])


def _enc_array(x, t, out, budget):
    """Fast path for long lists and tuples of one scalar type (int64, float, str): packed by
    `array` in C instead of value by value. False when x does not qualify."""
    kinds = set(map(type, x))
    if len(kinds) != 1:
        return False
    k = kinds.pop()
    n = len(x)
    head = b"A" + (b"l" if t is list else b"t")
    if k is int or k is float:
        try:
            arr = _array("q" if k is int else "d", x)
        except OverflowError:
            return False
        if _BIG_ENDIAN:
            arr.byteswap()
        out += head + (b"q" if k is int else b"d") + _u32.pack(n)
        out += arr
    elif k is str:
        enc = [v.encode("utf-8", "surrogatepass") for v in x]
        lens = _array("I", map(len, enc))
        if _BIG_ENDIAN:
            lens.byteswap()
        out += head + b"s" + _u32.pack(n) + lens.tobytes() + b"".join(enc)
    else:
        return False
    budget[0] += n
    if budget[0] > _MAX_ITEMS or len(out) > _MAX_FRAME:
        raise _NotPlain("is larger than the limit of %d values / %d bytes" % (_MAX_ITEMS, _MAX_FRAME))
    return True


_DECODED_LISTS = []  # lists decoded from packed arrays by the last _decode (flat, scalars)
_ENCODED_LISTS = []  # lists packed as arrays by the encoder since the last reset
# Long flat list arguments sent once are kept by both sides under the same key, so that a test
# passing the same unchanged list again sends a reference instead of the data. Both sides add
# the same entries in the same order and evict the oldest beyond _REF_KEEP.
_REF_MIN = 4096
_REF_KEEP = 8
_REFS = None  # the candidate's: key -> list
_RESOLVED = []  # lists the last _decode took from _REFS


class _Ref:
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key


def _ref_key(seq, i):
    return (seq << 8) | i


def _dec_array(buf, pos, budget):
    if pos + 6 > len(buf):
        raise _Malformed("truncated array")
    kind, elem = buf[pos], buf[pos + 1]
    n = _u32.unpack_from(buf, pos + 2)[0]
    pos += 6
    budget[0] += n
    if budget[0] > _MAX_ITEMS:
        raise _Malformed("more than %d values" % _MAX_ITEMS)
    if kind not in (108, 116) or elem not in (113, 100, 115):  # l t / q d s
        raise _Malformed("bad array header")
    if elem == 115:
        if pos + 4 * n > len(buf):
            raise _Malformed("truncated array")
        lens = _array("I")
        lens.frombytes(memoryview(buf)[pos:pos + 4 * n])
        if _BIG_ENDIAN:
            lens.byteswap()
        pos += 4 * n
        if pos + sum(lens) > len(buf):
            raise _Malformed("truncated array")
        items = []
        try:
            for m in lens:
                items.append(bytes(buf[pos:pos + m]).decode("utf-8", "surrogatepass"))
                pos += m
        except UnicodeDecodeError:
            raise _Malformed("invalid UTF-8 in a str")
    else:
        if pos + 8 * n > len(buf):
            raise _Malformed("truncated array")
        arr = _array("q" if elem == 113 else "d")
        arr.frombytes(memoryview(buf)[pos:pos + 8 * n])
        if _BIG_ENDIAN:
            arr.byteswap()
        pos += 8 * n
        items = arr.tolist()
    if kind == 108:
        _DECODED_LISTS.append(items)
        return items, pos
    return tuple(items), pos


def _value_bytes(value, what="value", skip=None):
    out = bytearray()
    try:
        _enc(value, out, 1, [0], skip)
    except _NotPlain as e:
        raise _NotPlain(e.describe(what))
    except RecursionError:
        raise _NotPlain(what + " is nested too deeply")
    return bytes(out)


def _frame(head, value_bytes):
    """A frame of the tuple head + (value,), the value already encoded."""
    out = bytearray(4)
    out += b"t" + _u32.pack(len(head) + 1)
    budget = [0]
    for x in head:
        _enc(x, out, 1, budget)
    out += value_bytes
    if len(out) - 4 > _MAX_FRAME:
        raise _NotPlain("a message is larger than %d bytes" % _MAX_FRAME)
    _u32.pack_into(out, 0, len(out) - 4)
    return out


def _encode(head, value=None, what="value"):
    """One frame: the tuple head + (value,) when what is given, else head itself."""
    out = bytearray(4)
    budget = [0]
    items = head if what is None else head + (value,)
    out += b"t" + _u32.pack(len(items))
    for x in head:
        _enc(x, out, 1, budget)
    if what is not None:
        try:
            _enc(value, out, 1, budget)
        except _NotPlain as e:
            raise _NotPlain(e.describe(what))
        except RecursionError:
            raise _NotPlain(what + " is nested too deeply")
    if len(out) - 4 > _MAX_FRAME:
        raise _NotPlain("%s is larger than %d bytes" % (what, _MAX_FRAME))
    _u32.pack_into(out, 0, len(out) - 4)
    return out


def _dec(buf, pos, depth, budget):
    if depth > _MAX_DEPTH:
        raise _Malformed("nested deeper than %d levels" % _MAX_DEPTH)
    budget[0] += 1
    if budget[0] > _MAX_ITEMS:
        raise _Malformed("more than %d values" % _MAX_ITEMS)
    if pos >= len(buf):
        raise _Malformed("truncated")
    tag = buf[pos]
    pos += 1
    if tag == 78:  # N
        return None, pos
    if tag == 84:  # T
        return True, pos
    if tag == 70:  # F
        return False, pos
    if tag == 65:  # A: packed array
        return _dec_array(buf, pos, budget)
    if tag == 82 and _REFS is not None:  # R: a list sent before (candidate side only)
        if pos + 4 > len(buf):
            raise _Malformed("truncated reference")
        x = _REFS.get(_u32.unpack_from(buf, pos)[0])
        if x is None:
            raise _Malformed("unknown reference")
        _DECODED_LISTS.append(x)
        _RESOLVED.append(x)
        return x, pos + 4
    if tag == 102:  # f
        if pos + 8 > len(buf):
            raise _Malformed("truncated float")
        return _f64.unpack_from(buf, pos)[0], pos + 8
    if tag == 99:  # c
        if pos + 16 > len(buf):
            raise _Malformed("truncated complex")
        re_, im = _c128.unpack_from(buf, pos)
        return complex(re_, im), pos + 16
    if pos + 4 > len(buf):
        raise _Malformed("truncated length")
    n = _u32.unpack_from(buf, pos)[0]
    pos += 4
    if tag in (105, 115, 98):  # i s b
        if pos + n > len(buf) or (tag == 105 and (n == 0 or n > _MAX_INT_BYTES)):
            raise _Malformed("bad length %d" % n)
        raw = bytes(buf[pos:pos + n])
        pos += n
        if tag == 105:
            return int.from_bytes(raw, "little", signed=True), pos
        if tag == 115:
            try:
                return raw.decode("utf-8", "surrogatepass"), pos
            except UnicodeDecodeError:
                raise _Malformed("invalid UTF-8 in a str")
        return raw, pos
    if n > len(buf) - pos:  # every value takes at least one byte
        raise _Malformed("count %d exceeds the frame" % n)
    if tag == 100:  # d
        d = {}
        for _ in range(n):
            k, pos = _dec(buf, pos, depth + 1, budget)
            v, pos = _dec(buf, pos, depth + 1, budget)
            try:
                d[k] = v
            except TypeError:
                raise _Malformed("unhashable dict key")
        if len(d) != n:
            raise _Malformed("duplicate dict keys")
        return d, pos
    if tag in (108, 116, 83, 122):  # l t S z
        items = []
        for _ in range(n):
            v, pos = _dec(buf, pos, depth + 1, budget)
            items.append(v)
        if tag == 108:
            return items, pos
        if tag == 116:
            return tuple(items), pos
        try:
            s = set(items) if tag == 83 else frozenset(items)
        except TypeError:
            raise _Malformed("unhashable set element")
        if len(s) != n:
            raise _Malformed("duplicate set elements")
        return s, pos
    raise _Malformed("unknown tag %d" % tag)


def _decode(buf):
    del _DECODED_LISTS[:]
    del _RESOLVED[:]
    v, pos = _dec(buf, 0, 0, [0])
    if pos != len(buf):
        raise _Malformed("%d trailing bytes" % (len(buf) - pos))
    return v


def _send(fd, payload):
    view = memoryview(payload)
    while view:
        n = _write(fd, view)
        view = view[n:]


class _Lost(Exception):
    pass


class _Reader:
    """Frames from a stream socket, read in as few system calls as possible."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = bytearray()

    def frame(self):
        """The next frame, decoded; raises _Lost at end of file, _Malformed otherwise."""
        buf = self.buf
        while len(buf) < 4:
            self._fill(65536)
        n = _u32.unpack_from(buf, 0)[0]
        if n > _MAX_FRAME:
            raise _Malformed("a message of %d bytes exceeds the limit of %d" % (n, _MAX_FRAME))
        if len(buf) - 4 >= n:
            body = bytes(memoryview(buf)[4:4 + n])
            del buf[:4 + n]
            return _decode(body)
        # A long frame: read the rest straight into its own buffer.
        body = bytearray(n)
        have = len(buf) - 4
        body[:have] = memoryview(buf)[4:]
        del buf[:]
        view = memoryview(body)
        while have < n:
            k = _os.readv(self.fd, [view[have:]])
            if k == 0:
                raise _Lost()
            have += k
        view.release()
        return _decode(body)

    def _fill(self, n):
        b = _read(self.fd, n)
        if not b:
            raise _Lost()
        self.buf += b


def _exc_text(e):
    try:
        t = str(e)
        return t[:_MAX_TEXT] if type(t) is str else ""
    except _BaseException:
        return ""


def _load_module(src, filename, g):
    exec(compile(src, filename, "exec"), g)


def run_candidate(src, filename, chan, seed):
    """Split grading, candidate side: loads the program, then answers calls until the checker
    hangs up. Never returns (SystemExit propagates, as the interpreter would exit)."""
    import traceback
    global _REFS
    _REFS = {}
    pid = _getpid()
    _seed_random(seed)
    g = {"__name__": "__main__", "__builtins__": __builtins__, "__file__": filename}
    try:
        _load_module(src, filename, g)
    except _SystemExit:
        _flush()
        raise
    except _BaseException as e:
        try:
            text = "".join(traceback.format_exception(e))
            _sys.stderr.write(text)
        except _BaseException:
            text = _type_name(e)
        _flush()
        try:
            _send(chan, _encode(("L", _type_name(e)[:100], text[-_DETAIL_MAX:]), what=None))
        except _BaseException:
            pass
        _exit(1)
    _send(chan, _encode(("H",), what=None))
    reader = _Reader(chan)
    while True:
        try:
            msg = reader.frame()
        except _Lost:
            _flush()
            _exit(0)
        if type(msg) is not tuple or len(msg) != 5 or msg[0] != "C":
            _exit(3)
        _, seq, token, name, (args, kwargs) = msg
        for i, a in enumerate(args[:255] if type(seq) is int and seq < (1 << 23) else ()):
            if (type(a) is list and len(a) >= _REF_MIN and any(a is d for d in _DECODED_LISTS)
                    and not any(a is r for r in _RESOLVED)):
                k = _ref_key(seq, i)
                if k not in _REFS:
                    _REFS[k] = a
                    while len(_REFS) > _REF_KEEP:
                        del _REFS[next(iter(_REFS))]
        # To tell whether the call changed its arguments in place: scalars cannot change, long
        # flat lists are compared with a shallow copy (cheap), the rest by its encoding.
        mutable = False
        for a in args:
            if type(a) not in _SCALARS:
                mutable = True
        for a in kwargs.values():
            if type(a) not in _SCALARS:
                mutable = True
        if mutable:
            flat = {id(x): i for i, x in enumerate(_DECODED_LISTS)}
            copies = [list(x) for x in _DECODED_LISTS]
            flat_objs = list(_DECODED_LISTS)
            try:
                before = _value_bytes((args, kwargs), skip=flat)
            except _BaseException:
                before = None
        try:
            fn = g.get(name)
            if fn is None:
                raise NameError("name %r is not defined" % (name,))
            value = fn(*args, **kwargs)
        except _SystemExit:
            _flush()
            raise
        except _BaseException as e:
            value = None
            frame = _encode(("E", token, _type_name(e)[:100], _exc_text(e)), what=None)
        else:
            frame = None
        if _getpid() != pid:
            _exit(0)  # a child forked by the call does not answer
        # Arguments the call changed in place travel back, so that the checks see the caller's
        # objects as an in-process call would leave them.
        try:
            after = None
            if mutable:
                what = "the arguments of %s() after the call" % (name,)
                same = before is not None and _value_bytes((args, kwargs), what, flat) == before
                for x, c in zip(flat_objs, copies):
                    same = same and len(x) == len(c) and x == c
                after = None if same else _frame(("A", token), _value_bytes((args, kwargs), what))
                flat_objs = copies = None
        except _NotPlain as np:
            after = None
            frame = _encode(("X", token, str(np)), what=None)
        except _BaseException:
            after = None
        if after is not None:
            _send(chan, after)
        if frame is None:
            try:
                frame = _encode(("R", token), value, "the return value of %s()" % (name,))
            except _NotPlain as np:
                frame = _encode(("X", token, str(np)), what=None)
            except _BaseException as e:
                frame = _encode(("X", token, "the return value of %s() could not be encoded (%s)"
                                 % (name, _type_name(e))), what=None)
            value = None
        _send(chan, frame)
        _flush()


def _builtin_exceptions():
    import builtins
    out = {}
    for n, c in vars(builtins).items():
        if isinstance(c, type) and issubclass(c, Exception):
            out[n] = c
    return out


_BUILTIN_EXC = _builtin_exceptions()


class CandidateError(Exception):
    """A candidate's exception whose type is not a builtin: re-raised under this name."""


class _GradingAbort(_BaseException):
    """Raised in the checker when the channel broke; whatever catches it, the verdict stays."""


def _sync(mine, theirs, depth=0):
    """Changes the checker's container `mine` in place to equal `theirs` (decoded plain data),
    keeping the identity of nested containers where their shape allows."""
    t = type(mine)
    if depth > _MAX_DEPTH or type(theirs) is not t:
        return
    if t is list:
        if len(mine) != len(theirs):
            mine[:] = theirs
            return
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if not _sync_item(a, b, depth):
                mine[i] = b
    elif t is dict:
        for k in [k for k in mine if k not in theirs]:
            del mine[k]
        for k, b in theirs.items():
            if k not in mine or not _sync_item(mine[k], b, depth):
                mine[k] = b
    elif t is set:
        if mine != theirs:
            mine.clear()
            mine.update(theirs)
    elif t is tuple:
        for a, b in zip(mine, theirs):
            _sync_item(a, b, depth)


def _sync_item(a, b, depth):
    """True when `a` can stay in its place: it equals b, or was changed in place to equal it."""
    if type(a) is not type(b):
        return False
    t = type(a)
    if t is list or t is dict or t is set:
        _sync(a, b, depth + 1)
        return True
    if t is tuple:
        # Immutable, but it may hold containers that the call changed.
        if len(a) != len(b):
            return False
        for x, y in zip(a, b):
            if not (type(x) is type(y) and (type(x) in (list, dict, set) or x == y or (x != x and y != y))):
                return False
        _sync(a, b, depth + 1)
        return True
    return a == b or (a != a and b != b)


class _Checker:
    def __init__(self, chan):
        self.chan = chan
        self.reader = _Reader(chan)
        self.seq = 0
        # Every call carries a token the candidate cannot predict; its reply must echo it, so a
        # reply sent before the call was made is a violation, not an answer.
        import random
        self.tokens = random.Random(int.from_bytes(_os.urandom(16), "little"))
        self.problem = None  # (status, detail): overrides the program's outcome
        self.refs = {}  # id(list) -> (list, copy when sent, key): see _REFS
        self.ref_keys = {}  # key -> list, in the order the candidate adds them

    def fail(self, status, detail):
        if self.problem is None:
            self.problem = (status, detail)
        raise _GradingAbort(detail)

    def recv(self, what):
        try:
            return self.reader.frame()
        except _Lost:
            self.fail(b"lost", "the candidate process ended or closed the call channel " + what)
        except _Malformed as e:
            self.fail(b"violation", "the candidate sent malformed data %s: %s" % (what, e))
        except MemoryError:
            self.fail(b"memory", "MemoryError while receiving the candidate's reply")

    def wait_ready(self):
        m = self.recv("while loading")
        if type(m) is tuple and len(m) == 1 and m[0] == "H":
            return
        if type(m) is tuple and len(m) == 3 and m[0] == "L" and type(m[1]) is str and type(m[2]) is str:
            self.fail(b"memory" if m[1] == "MemoryError" else b"error",
                      "the candidate failed to load:\n" + m[2][-(_DETAIL_MAX - 40):])
        self.fail(b"violation", "the candidate broke the protocol while loading")

    def call(self, name, args, kwargs):
        if self.problem is not None:
            raise _GradingAbort(self.problem[1])
        self.seq += 1
        seq = self.seq
        what = "during call %d (%s)" % (seq, name)
        sent = list(args)
        fresh = []
        for i, a in enumerate(args[:255] if seq < (1 << 23) else ()):
            if type(a) is list and len(a) >= _REF_MIN:
                hit = self.refs.get(id(a))
                if (hit is not None and hit[0] is a and hit[2] in self.ref_keys
                        and len(a) == len(hit[1]) and a == hit[1]):
                    sent[i] = _Ref(hit[2])
                else:
                    fresh.append((i, a))
        del _ENCODED_LISTS[:]
        token = self.tokens.getrandbits(62)
        try:
            frame = _encode(("C", seq, token, name), (tuple(sent), kwargs), "the arguments of %s()" % name)
        except _NotPlain as e:
            self.fail(b"unsupported", "split grading cannot pass this to the candidate: %s "
                      "(use --grading inprocess for this problem)" % e)
        packed = [a for i, a in fresh if any(a is e for e in _ENCODED_LISTS)]
        del _ENCODED_LISTS[:]
        for i, a in fresh:
            if any(a is p for p in packed):
                # Same entries, same order, same eviction as the candidate's _REFS.
                key = _ref_key(seq, i)
                self.ref_keys[key] = a
                self.refs[id(a)] = (a, list(a), key)
                while len(self.ref_keys) > _REF_KEEP:
                    old = next(iter(self.ref_keys))
                    gone = self.ref_keys.pop(old)
                    if id(gone) in self.refs and self.refs[id(gone)][2] == old:
                        del self.refs[id(gone)]
        try:
            _send(self.chan, frame)
        except OSError:
            self.fail(b"lost", "the candidate process ended or closed the call channel " + what)
        m = self.recv(what)
        if type(m) is tuple and len(m) == 3 and m[0] == "A" and type(m[1]) is int and m[1] == token:
            # The call changed its arguments in place: change ours the same way.
            changed = m[2]
            if (type(changed) is not tuple or len(changed) != 2 or type(changed[0]) is not tuple
                    or len(changed[0]) != len(args) or type(changed[1]) is not dict):
                self.fail(b"violation", "the candidate sent malformed arguments back " + what)
            for a, b in zip(args, changed[0]):
                _sync(a, b)
            for k, v in kwargs.items():
                if k in changed[1]:
                    _sync(v, changed[1][k])
            m = self.recv(what)
        if type(m) is not tuple or len(m) < 2 or type(m[1]) is not int or m[1] != token:
            self.fail(b"violation", "the candidate sent a reply that does not answer the call " + what)
        if m[0] == "R" and len(m) == 3:
            return m[2]
        if m[0] == "E" and len(m) == 4 and type(m[2]) is str and type(m[3]) is str:
            cls = _BUILTIN_EXC.get(m[2])
            exc = None
            if cls is not None:
                try:
                    exc = cls(m[3])
                except _BaseException:
                    exc = None
            if exc is None:
                exc = CandidateError("%s: %s" % (m[2], m[3]))
            raise exc
        if m[0] == "X" and len(m) == 3 and type(m[2]) is str:
            self.fail(b"violation", m[2][:_DETAIL_MAX])
        self.fail(b"violation", "the candidate sent an unknown reply " + what)

    def proxy(self, name):
        call = self.call

        def proxy(*args, **kwargs):
            return call(name, args, kwargs)
        proxy.__name__ = proxy.__qualname__ = name
        return proxy


def run_checker(setup_src, setup_name, src, filename, entry_points, nonce, rfd, chan, seed):
    """Split grading, checker side: the problem's helpers, then the entry points bound to
    proxies, then the tests. Never returns."""
    ck = _Checker(chan)
    _seed_random(seed)
    # The checker's sources are not on disk: let tracebacks find their lines.
    import linecache
    for name, text in ((setup_name, setup_src), (filename, src)):
        if type(text) is bytes:
            text = text.decode("utf-8", "replace")
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)

    def body():
        g = {"__name__": "__main__", "__builtins__": __builtins__, "__file__": filename}
        try:
            _load_module(setup_src, setup_name, g)
        except _BaseException as e:
            ck.fail(b"unsupported", "the problem's prompt does not run on its own in the checker "
                    "(%s: %s); use --grading inprocess for this problem" % (_type_name(e), _exc_text(e)))
        ck.wait_ready()
        for n in entry_points:
            g[n] = ck.proxy(n)
        _load_module(src, filename, g)

    _run_and_report(body, filename, nonce, rfd, lambda: ck.problem)


def _main_run():
    # process backend: argv = [-c, "run", program_path]; fd 4 = nonce (read, closed), fd 5 = result.
    nonce = _os.read(4, 128).strip()
    _os.close(4)
    path = _sys.argv[2]
    with open(path, "rb") as f:
        src = f.read()
    _sys.argv = [path]
    _seed_random(_SEED)
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
            "enum", "json", "io", "textwrap", "numbers", "cmath", "array", "struct", "time",
            "random", "select", "builtins")


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

    def payload(step, req, body_files, fds, err_w, role, chan):
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
            if step.get("driver") and role != "candidate":
                # The candidate of split grading never holds the result channel.
                _os.dup2(res_w, 5)
                keep.add(5)
            if chan is not None:
                _os.dup2(chan, 3)
                keep.add(3)
            lo = 3
            for k in sorted(keep):
                if k >= lo:
                    _os.closerange(lo, k)
                    lo = k + 1
            _os.closerange(lo, 65536)
            _os.chdir("/work")
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                   "TZ": "UTC", "PYTHONHASHSEED": str(_SEED), "PYTHONDONTWRITEBYTECODE": "1",
                   "PYTHONIOENCODING": "utf-8", "HOME": "/work", "TMPDIR": "/tmp"}
            _os.environ.clear()
            _os.environ.update(env)
            lim = step["limits"]
            if lim["cpu_s"] > 0:
                # A split role is PID 1 of its namespace, which ignores SIGXCPU: the hard
                # limit's SIGKILL enforces the limit there.
                resource.setrlimit(resource.RLIMIT_CPU,
                                   (lim["cpu_s"], lim["cpu_s"] + (0 if role else 1)))
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
                split = req.get("split")
                name = split[role] if split else req["source"]
                src = body_files[name]
                setup = body_files.get(split["setup"]) if split and role == "checker" else None
                body_files.clear()
                _os.close(err_w)
                _sys.argv = [name]
                signal.signal(signal.SIGPIPE, signal.SIG_IGN)
                try:
                    if role == "candidate":
                        run_candidate(src, name, 3, _SEED)
                    elif role == "checker":
                        run_checker(setup, split["setup"], src, name, split["entry_points"],
                                    nonce, 5, 3, _SEED)
                    _seed_random(_SEED)
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

    def read_body(req, body_fd, listing):
        body = b""
        while True:
            chunk = _os.read(body_fd, 1 << 20)
            if not chunk:
                break
            body += chunk
        _os.close(body_fd)
        files = {}
        off = 0
        for name, n in listing:
            files[name] = body[off:off + n]
            off += n
        return files

    def setup_workdir(req, body_files, uid):
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

    def split_role(req, role, body_fd, fds, chan, err_w):
        # Split grading: this process is PID 1 of a fresh pid namespace and becomes the role
        # itself (no supervisor of its own: the zygote measures, limits and kills it, and when
        # it ends the kernel kills whatever it left in its namespace). Never returns.
        try:
            listing = req["candidate_files"] if role == "candidate" else req["files"]
            body_files = read_body(req, body_fd, listing)
            if role == "candidate":
                # The checker needs no workdir: it writes nothing, and its sources stay in memory.
                check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWIPC), "unshare(mnt, ipc)")
                setup_workdir(req, body_files, req["uid"])
        except _BaseException as e:
            try:
                _os.write(err_w, ("sample setup: %r" % (e,)).encode())
            except _BaseException:
                pass
            _exit(1)
        payload(req["steps"][-1], req, body_files, fds, err_w, role, chan)

    def sample_init(req, role, body_fd, fds, st_w, chan):
        # D: PID 1 of the sample's pid namespace. Never returns. role: None (in-process
        # grading, or a program that is not graded in two parts), "candidate" or "checker".
        tag = b"" if role is None else role.encode() + b" "
        try:
            uid = req["uid"]
            body_files = read_body(req, body_fd, req["files"])
            setup_workdir(req, body_files, uid)
        except _BaseException as e:
            _os.write(st_w, tag + init_line(error="sample setup: %r" % (e,)))
            _exit(1)
        killer = ["none"]

        def on_kill(signum, frame):
            if killer[0] == "none":
                killer[0] = {signal.SIGUSR1: "wall", signal.SIGUSR2: "output",
                             signal.SIGTERM: "shutdown"}.get(signum, "wall")
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
        signal.signal(signal.SIGTERM, on_kill)
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
                payload(step, req, body_files, fds, ew, role, chan)
            _os.close(ew)
            if chan is not None:
                # Only the payload holds its end: its death is the other side's end of file.
                _os.close(chan)
                chan = None
            body_files = {}
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
            _os.write(st_w, tag + line)
            if killer[0] != "none" or setup_err or status != 0:
                break
        _exit(0)

    def serve(header, fds):
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]
        for fd in fds:
            _os.close(fd)
        fds = high
        req = json.loads(header)
        split = req.get("split")
        out_w, err_w, res_w, st_w, body_fd = fds[:5]
        cand_body = fds[5] if split else None
        chans = [None, None]
        if split:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            chans = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD_CLOEXEC, 100) for s in (a, b)]
            a.close()
            b.close()

        def start(role, body, chan, others):
            # Fresh pid namespace for the next child only: unshare, fork, then point
            # pid_ns_for_children back at our own namespace (an unshare can happen only once).
            check(libc.unshare(_CLONE_NEWPID), "unshare(CLONE_NEWPID)")
            try:
                dpid = _os.fork()
                if dpid == 0:
                    tag = b"" if role is None else role.encode() + b" "
                    try:
                        ctl.close()
                        for fd in others:
                            if fd is not None:
                                _os.close(fd)
                        check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWIPC), "unshare(mnt, ipc)")
                    except _BaseException as e:
                        try:
                            _os.write(st_w, tag + init_line(error="sample start: %r" % (e,)))
                        except _BaseException:
                            pass
                        _exit(2)
                    sample_init(req, role, body, (out_w, err_w, res_w), st_w, chan)
            finally:
                check(libc.setns(own_pid_ns, _CLONE_NEWPID), "setns(pid)")
            return dpid

        if split:
            serve_split(req, (out_w, err_w, res_w, st_w, body_fd, cand_body), chans)
            return
        ds = [(None, start(None, body_fd, None, ()))]
        for fd in (out_w, err_w, res_w, body_fd):
            _os.close(fd)
        supervise(req, ds, st_w)
        _os.close(st_w)

    def serve_split(req, fds, chans):
        out_w, err_w, res_w, st_w, body_fd, cand_body = fds
        roles = []
        # Sibling pid namespaces: neither side can name, see or signal the other. The
        # candidate's side never receives the checker's sources or the result channel.
        for role, body, chan, others in (
                ("candidate", cand_body, chans[0], (body_fd, res_w, chans[1], st_w)),
                ("checker", body_fd, chans[1], (cand_body, chans[0], st_w))):
            er, ew0 = _os.pipe2(_os.O_CLOEXEC)
            ew = fcntl.fcntl(ew0, fcntl.F_DUPFD_CLOEXEC, 200)
            _os.close(ew0)
            check(libc.unshare(_CLONE_NEWPID), "unshare(CLONE_NEWPID)")
            try:
                start = time.monotonic_ns()
                pid = _os.fork()
                if pid == 0:
                    try:
                        ctl.close()
                        _os.close(er)
                        for fd in others:
                            if fd is not None:
                                _os.close(fd)
                    except _BaseException:
                        _exit(2)
                    split_role(req, role, body, (out_w, err_w, res_w), chan, ew)
            finally:
                check(libc.setns(own_pid_ns, _CLONE_NEWPID), "setns(pid)")
            _os.close(ew)
            roles.append({"role": role, "pid": pid, "err": er, "start": start, "killer": "none"})
        for fd in (out_w, err_w, res_w, body_fd, cand_body, chans[0], chans[1]):
            _os.close(fd)
        poller = select.poll()
        poller.register(ctl.fileno(), select.POLLIN)
        live = {}
        for r in roles:
            r["pidfd"] = _os.pidfd_open(r["pid"])
            live[r["pidfd"]] = r
            poller.register(r["pidfd"], select.POLLIN)
        deadline = time.monotonic() + req["wall_ms"] / 1000.0
        stop_at = None

        def kill(r, why):
            if r["killer"] == "none":
                r["killer"] = why
            try:
                _os.kill(r["pid"], signal.SIGKILL)
            except OSError:
                pass

        while live:
            now = time.monotonic()
            if now >= deadline:
                for r in live.values():
                    kill(r, "wall")
            elif stop_at is not None and now >= stop_at:
                # The checker is done; a candidate that still runs ignored its end of file.
                for r in live.values():
                    kill(r, "shutdown")
                stop_at = None
            wait_s = deadline - now
            if stop_at is not None:
                wait_s = min(wait_s, stop_at - now)
            for fd, ev in poller.poll(max(1, int(wait_s * 1000) + 1)):
                if fd in live:
                    r = live.pop(fd)
                    poller.unregister(fd)
                    _, st, ru = _os.wait4(r["pid"], 0)
                    r["end"] = time.monotonic_ns()
                    r["status"], r["ru"] = st, ru
                    if r["role"] == "checker" and live:
                        stop_at = time.monotonic() + 0.25
                elif fd == ctl.fileno():
                    m = ctl.recv(64)
                    if not m:
                        for r in roles:
                            _os.kill(r["pid"], signal.SIGKILL)
                        _exit(0)
                    if m == b"K":
                        for r in live.values():
                            kill(r, "output")
        for r in roles:
            _os.close(r["pidfd"])
            err = b""
            while True:
                chunk = _os.read(r["err"], 4096)
                if not chunk:
                    break
                err += chunk
            _os.close(r["err"])
            ru = r["ru"]
            line = init_line(status=r["status"], reaped=1, utime_ns=ru.ru_utime * 1e9,
                             stime_ns=ru.ru_stime * 1e9, maxrss_kib=ru.ru_maxrss,
                             start_ns=r["start"], end_ns=r["end"], nvcsw=ru.ru_nvcsw,
                             nivcsw=ru.ru_nivcsw, leftovers=0, killer=r["killer"],
                             error=err.decode("utf-8", "replace"))
            _os.write(st_w, r["role"].encode() + b" " + line)
        _os.close(st_w)

    def supervise(req, ds, st_w):
        killer = "none"
        deadline = time.monotonic() + req["wall_ms"] / 1000.0 + 1.0
        signalled_at = None
        poller = select.poll()
        poller.register(ctl.fileno(), select.POLLIN)
        live = {}
        for role, dpid in ds:
            try:
                pidfd = _os.pidfd_open(dpid)
            except OSError:
                continue
            live[pidfd] = (role, dpid)
            poller.register(pidfd, select.POLLIN)
        pids = [dpid for _, dpid in ds]
        # When the checker is done, the candidate gets end of file on its channel and exits; one
        # that does not (it closed or ignores the channel) is stopped after a short grace.
        stop_at = None
        while live:
            now = time.monotonic()
            if killer == "none" and now >= deadline:
                killer = "wall"
                for p in pids:
                    _os.kill(p, signal.SIGUSR1)
                signalled_at = now
            if signalled_at is not None and now - signalled_at > 1.0:
                for p in pids:
                    _os.kill(p, signal.SIGKILL)
                signalled_at = None
            if stop_at is not None and now >= stop_at:
                for role, p in live.values():
                    _os.kill(p, signal.SIGTERM)
                stop_at = None
            wait_s = (deadline - now) if killer == "none" else 0.05
            if stop_at is not None:
                wait_s = min(wait_s, stop_at - now)
            events = poller.poll(max(1, int(wait_s * 1000) + 1))
            for fd, ev in events:
                if fd in live:
                    role, _ = live.pop(fd)
                    poller.unregister(fd)
                    _os.close(fd)
                    if role == "checker" and live:
                        stop_at = time.monotonic() + 0.5
                elif fd == ctl.fileno():
                    m = ctl.recv(64)
                    if not m:
                        for p in pids:
                            _os.kill(p, signal.SIGKILL)
                        _exit(0)
                    if m == b"K" and killer == "none":
                        killer = "output"
                        for p in pids:
                            _os.kill(p, signal.SIGUSR2)
                        signalled_at = time.monotonic()
        for role, dpid in ds:
            _, cst = _os.waitpid(dpid, 0)
            if cst != 0:
                # D did not finish its report (killed, or setup failed after reporting).
                tag = b"" if role is None else role.encode() + b" "
                try:
                    _os.write(st_w, tag + init_line(killer=killer,
                                                    error="" if killer != "none" else "sample init lost"))
                except OSError:
                    pass

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
        if len(fds) not in (5, 6):
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
