"""In-sandbox job runner: reads framed jobs on stdin, answers one verdict line per job on stdout.

Runs as PID 1 of its container (or bubblewrap PID namespace), so code under test cannot kill it, and it
forks a fresh child for every job from an interpreter that has already imported the common standard
library: a job costs a fork, not an interpreter start. Stdlib only; Python 3.10+ (os.splice).

What a job can see: its own program, tests and stdin, nothing else. Each job arrives as a small header and
a body; the runner reads the header, forks, then moves the body straight from its stdin pipe into a pipe
the child reads (splice(2): kernel to kernel), so no job's text, queued or past, is ever in the runner's
memory, which every child inherits.

What a job can forge: the child reports on a private pipe, every record carrying a random per-job nonce,
and a pass needs the final record written after the last test, so exiting early, signals, scribbling on
descriptors or printing lookalike lines cannot pass. Code that inspects its own interpreter (frames, gc,
memory) can find the nonce and write any record: for test code run here, that remains forgeable. Split
tests are not: their `assert EXPR == EXPECTED` checks arrive with EXPECTED removed, the child only reports
EXPR's value as plain data, and the host compares (codepref/sandbox/split.py), so no record the job can
write makes a wrong value right.
"""

import ast
import builtins
import collections
import ctypes
import fcntl
import gc
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import struct
import sys
import time
import traceback
import types
import warnings
from _thread import get_ident as _get_ident

PRELOADED_MODULES = (
    "abc array bisect calendar cmath collections collections.abc copy dataclasses datetime decimal enum "
    "fractions functools hashlib heapq io itertools json math numbers operator random re statistics string "
    "struct sys textwrap typing unicodedata"
).split()
WORK_ROOT = "/tmp"
WIPE_DIRS = ("/tmp", "/dev/shm", "/dev/mqueue")  # POSIX shared memory and message queues live in the last two
SYSV_IPC = {"shm": "shmctl", "sem": "semctl", "msg": "msgctl"}  # /proc/sysvipc table -> its libc control call
IPC_RMID = 0
OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
RESULT_FD = 3
ERROR_CHARS = 500
MB = 1 << 20
FRAME_BYTES = 20  # "HHHHHHHHH BBBBBBBBB\n": header and body lengths
BODY_PIPE_BYTES = 1 << 20  # the body pipe is grown up to this (the unprivileged default maximum)
WALL_SLACK = 4.0  # a test's wall-clock backstop, as a multiple of its CPU-time limit
REPORTER = "__codepref_value__"  # what split tests call with each value (see codepref/sandbox/split.py)
VALUE_CHARS = 8 * MB  # one reported value, encoded
VALUE_DEPTH = 200


class TestTimeout(BaseException):
    """Raised in the job by SIGPROF/SIGALRM when one test exceeds its own time limit."""


class NotPlainData(Exception):
    pass


def _prepare_interpreter() -> None:
    """Everything a job would otherwise pay for after each fork: imports, the job environment, warm codecs."""
    for name in PRELOADED_MODULES:
        try:
            __import__(name)
        except ImportError:
            pass
    workdir = os.path.join(WORK_ROOT, "job")
    os.environ.clear()
    os.environ.update(
        {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "TMPDIR": workdir}
    )
    json.dumps({"warm": [1.0, "x"]})
    exec(compile("pass", "<warm>", "exec"), {})


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


LIBC = _libc()


def _make_undumpable() -> None:
    try:
        LIBC.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except AttributeError:
        pass


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_CHARS]


# ---------------------------------------------------------------- the child side: runs the code under test


def _read_job(fd: int) -> dict:
    """The job's body, from the pipe the runner splices it into (trusted: it comes from the host)."""
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return json.loads(b"".join(chunks))


def _stdin_file(text: str, devnull: int) -> int:
    """The job's stdin as an in-memory file: nobody has to keep feeding a pipe while the job runs."""
    if not text:
        return devnull
    fd = os.memfd_create("stdin")
    data = memoryview(text.encode())
    while data:
        data = data[os.write(fd, data) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _child_setup(limits: dict, stdin_fd: int, out_fd: int, err_fd: int, result_fd: int, workdir: str) -> None:
    os.setsid()
    try:  # when the sandbox's memory cgroup is full, its OOM killer takes the job, never the runner
        with open("/proc/self/oom_score_adj", "w") as score:
            score.write("1000")
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    memory = limits["memory_mb"] * MB
    caps = [
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * MB),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if limits.get("nproc"):
        caps.append((resource.RLIMIT_NPROC, limits["nproc"]))
    for which, value in caps:
        resource.setrlimit(which, (value, value))
    os.dup2(stdin_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.dup2(result_fd, RESULT_FD)
    os.closerange(RESULT_FD + 1, 65536)
    os.set_inheritable(RESULT_FD, False)  # grandchildren started by the job never see the result pipe
    os.chdir(workdir)


# What the child needs after the job's code has started, bound now: a job that rebinds builtins.exec,
# json.dumps, os.write or isinstance cannot change how its own tests are run or reported.
_exec, _compile, _isinstance, _type = exec, compile, isinstance, type
_write, _clock, _set_timer = os.write, time.perf_counter, signal.setitimer
_quote, _float_text = json.encoder.encode_basestring_ascii, float.__repr__
_encode_json = json.JSONEncoder(
    ensure_ascii=True, allow_nan=False, check_circular=False, separators=(",", ":")
).encode
_float_abs, _hex, _bytes_hex = float.__abs__, int.__format__, bytes.hex
_INF = float("inf")


def _record(nonce: str, kind: str, raw: dict | None = None, **fields) -> bytes:
    """One result record as a JSON line, built by hand from the bound primitives above."""
    parts = [f'"nonce": "{nonce}"', f'"kind": "{kind}"']
    for name, value in fields.items():
        if value is None or _isinstance(value, bool):
            text = {None: "null", True: "true", False: "false"}[value]
        elif _isinstance(value, int):
            text = int.__repr__(value)
        elif _isinstance(value, float):
            text = _float_text(value)
        else:
            text = _quote(str.__str__(value))
        parts.append(f'"{name}": {text}')
    for name, text in (raw or {}).items():
        parts.append(f'"{name}": {text}')
    return ("{" + ", ".join(parts) + "}\n").encode()


def _plain(value, depth: int = 0):
    """value as JSON-able data with its exact types tagged; NotPlainData for anything else (subclasses too).

    Tags: {"t": tuple}, {"s": set}, {"z": frozenset}, {"d": [[key, value]...]}, {"b": bytes hex},
    {"c": [real, imag]}, {"f": non-finite float}, {"i": hex of an int too big for a JSON number}.
    """
    kind = _type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -(1 << 53) < value < (1 << 53) else {"i": _hex(value, "x")}
    if kind is float:
        return value if _float_abs(value) != _INF and value == value else {"f": _float_text(value)}
    if kind is complex:
        return {"c": [_plain(value.real), _plain(value.imag)]}
    if kind is bytes:
        return {"b": _bytes_hex(value)}
    if depth >= VALUE_DEPTH:
        raise NotPlainData(f"nested deeper than {VALUE_DEPTH}")
    if kind is list:
        return [_plain(item, depth + 1) for item in list.__iter__(value)]
    if kind is tuple:
        return {"t": [_plain(item, depth + 1) for item in tuple.__iter__(value)]}
    if kind is set or kind is frozenset:
        return {"s" if kind is set else "z": [_plain(item, depth + 1) for item in kind.__iter__(value)]}
    if kind is dict or any(
        kind is like for like in _DICT_LIKE
    ):  # data read with dict's own method: no __eq__ of theirs runs
        return {"d": [[_plain(k, depth + 1), _plain(v, depth + 1)] for k, v in dict.items(value)]}
    if _isinstance(value, tuple) and _is_namedtuple(kind):
        return {"t": [_plain(item, depth + 1) for item in tuple.__iter__(value)]}
    if _type.__getattribute__(kind, "__module__") == "numpy" and hasattr(value, "item"):
        return _plain(value.item(), depth + 1)  # numpy scalars, e.g. from numpy.sum: their Python value
    raise NotPlainData(_type.__getattribute__(kind, "__qualname__")[:100])


def _value_text(value) -> str:
    """JSON for a reported value: common scalars directly, anything else through `_plain` (may raise)."""
    kind = _type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int and -(1 << 53) < value < (1 << 53):
        return int.__repr__(value)
    if kind is str:
        return _quote(value)
    if value is None:
        return "null"
    return _encode_json(_plain(value))


# The standard library's dict subclasses that compare with a dict as a dict does (collections.Counter
# defers to dict.__eq__ against a plain dict), and namedtuples, which compare as tuples: reported as their base.
_DICT_LIKE = (collections.Counter, collections.OrderedDict, collections.defaultdict)


def _is_namedtuple(kind) -> bool:
    return tuple in _type.__getattribute__(kind, "__bases__") and "_fields" in _type.__getattribute__(
        kind, "__dict__"
    )


def _make_reporter(nonce: str, current_test: list):
    """What split tests call: reports EXPR's value (and EXPECTED's, when the test computes it) as plain data.

    Each report is written at once, as its own record tagged with the running test's index: nothing the
    job does afterwards (clearing a list, dying, exiting early) can take back a wrong value. The tests reach
    this function as a constant of their code (see `_compile_test`), never through a name the program
    could rebind or wrap.
    """

    def report(slot, value, *expected):
        if _type(slot) is not int or len(expected) > 1:
            raise TypeError("bad split-test report")
        index = current_test[0]
        try:
            texts = [_value_text(value), *(_value_text(other) for other in expected)]
        except (NotPlainData, RecursionError) as exc:
            _write(RESULT_FD, _record(nonce, "value", index=index, slot=slot, unplain=str.__str__(str(exc))))
            raise AssertionError(f"not plain data: {exc}") from None
        if sum(len(text) for text in texts) > VALUE_CHARS:
            _write(RESULT_FD, _record(nonce, "value", index=index, slot=slot, unplain="too large to report"))
            raise AssertionError("value too large to report")
        raw = {"value": texts[0]} if len(texts) == 1 else {"value": texts[0], "expected": texts[1]}
        _write(RESULT_FD, _record(nonce, "value", raw, index=index, slot=slot))

    return report


class _ReporterConstant(ast.NodeTransformer):
    """Turns every load of the reporter's name into a placeholder constant, swapped for the reporter later."""

    def __init__(self, placeholder: str) -> None:
        self.placeholder = placeholder

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == REPORTER and _isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Constant(self.placeholder), node)
        return node


def _compile_test(text: str, index: int, reporter, placeholder: str):
    """A test's code object with the reporter bound as a constant (in nested functions and comprehensions
    too), or the SyntaxError (or other compile error) to raise when the test's turn comes.

    Compiled before the program runs, so the program can change neither the compiler nor the warnings a
    constant callee would otherwise raise."""
    try:
        tree = _ReporterConstant(placeholder).visit(ast.parse(text, f"<test {index}>"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "'str' object is not callable": the placeholder, swapped below
            code = _compile(tree, f"<test {index}>", "exec")
    except BaseException as exc:  # noqa: BLE001 - reported as the test's own failure
        return exc
    return _bind_constant(code, placeholder, reporter)


def _bind_constant(code, placeholder: str, value):
    consts = tuple(
        value
        if _type(const) is str and const == placeholder
        else _bind_constant(const, placeholder, value)
        if _isinstance(const, types.CodeType)
        else const
        for const in code.co_consts
    )
    return code.replace(co_consts=consts)


# Names the program's module-level definitions may shadow for its own code but never for its tests: a
# module-level `range` yielding nothing would otherwise empty a HumanEval-style check() loop.
PUBLIC_BUILTINS = frozenset(name for name in vars(builtins) if not name.startswith("__"))


def _test_globals(namespace: dict, pristine_builtins: dict, entry_point) -> dict:
    """The namespace a test runs in: the program's names except those shadowing builtins (but the function
    under test, whatever its name), and a fresh copy of the builtins as they were before the program ran."""
    scope = {
        name: value
        for name, value in dict.items(namespace)
        if name not in PUBLIC_BUILTINS or name == entry_point
    }
    scope["__builtins__"] = dict(pristine_builtins)
    return scope


def _run_in_child(job: dict, nonce: str) -> int:
    """Run the program, then each test; returns the exit status the process would have had."""
    current_test = [-1]  # reports made outside a test (in the program) are tagged -1 and count for none
    reporter = _make_reporter(nonce, current_test)
    placeholder = f"\0{REPORTER}:{nonce}"
    tests, test_limit = job.get("tests", ()), job.get("test_timeout_s")
    compiled = [_compile_test(test, index, reporter, placeholder) for index, test in enumerate(tests)]
    pristine_builtins = dict(vars(builtins))
    namespace = {
        "__name__": "__main__" if job.get("as_main", True) else "__sandbox__",
        "__builtins__": builtins,
    }
    if test_limit:
        signal.signal(signal.SIGPROF, _raise_test_timeout)
        signal.signal(signal.SIGALRM, _raise_test_timeout)
    formatting = _guard_job()  # from here on, the job's own code may run
    try:
        _exec(_compile(job["program"], "<program>", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - every escape, SystemExit included, ends the program
        if not _isinstance(exc, SystemExit):
            formatting.append(True)  # the traceback module reads tb_frame, which the guard refuses the job
            try:
                traceback.print_exc()
            finally:
                formatting.clear()
        _flush_streams()
        error, exc_name, code = _describe(exc), _type(exc).__name__, _exit_code(exc)
        _write(RESULT_FD, _record(nonce, "program", ok=False, error=error, exc=exc_name, code=code))
        return 1 if code is None and not _isinstance(exc, SystemExit) else (code or 0) & 0xFF
    _flush_streams()
    _write(RESULT_FD, _record(nonce, "program", ok=True))
    for index, code in enumerate(compiled):
        current_test[0] = index
        started = _clock()
        status, error = "passed", ""
        scope = _test_globals(namespace, pristine_builtins, job.get("entry_point"))
        try:
            if test_limit:  # CPU time is the limit; wall time only catches tests that sleep or block
                _set_timer(signal.ITIMER_PROF, test_limit)
                _set_timer(signal.ITIMER_REAL, WALL_SLACK * test_limit)
            if _isinstance(code, BaseException):
                raise code
            _exec(code, scope)
        except TestTimeout:
            status, error = "timeout", f"test exceeded {test_limit}s of CPU time"
            if _clock() - started >= WALL_SLACK * test_limit:
                error = f"test exceeded {WALL_SLACK * test_limit:g}s of wall time (limit {test_limit}s CPU)"
        except BaseException as exc:  # noqa: BLE001
            status, error = ("memory_exceeded" if _isinstance(exc, MemoryError) else "failed"), _describe(exc)
        finally:
            if test_limit:
                _set_timer(signal.ITIMER_PROF, 0)
                _set_timer(signal.ITIMER_REAL, 0)
        current_test[0] = -1
        _flush_streams()
        _write(
            RESULT_FD,
            _record(nonce, "test", index=index, status=status, time_s=_clock() - started, error=error),
        )
        for name, value in dict.items(scope):  # later tests see what earlier ones defined, as in one script
            if name != "__builtins__":
                namespace[name] = value
    _write(RESULT_FD, _record(nonce, "done"))
    return 0


# ---------------------------------------------------------------- what the job's own code may not do
#
# The tests run in the job's process, so anything that reaches the tests' frames (their data, the runner's
# locals, the nonce) or rewrites them could skip checks. The guard refuses the job every way Python offers
# to reach a frame or an object it was not handed: frame attributes of tracebacks and generators, frame
# and object enumeration, tracing, crafted code objects, its own memory through /proc or ctypes, and new
# audit hooks (which would be handed the objects the guard lets through). A seccomp filter refuses new
# signal handlers, which Python calls with the interrupted frame.

FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
REFUSED_EVENTS = frozenset(
    {
        "sys.settrace",
        "sys.setprofile",
        "sys._current_frames",
        "sys._current_exceptions",
        "sys.addaudithook",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "code.__new__",
        "function.__new__",
        "os.symlink",  # a link to /proc/self/mem under another name
        "os.link",
    }
)
# Standard-library callers of sys._getframe that only read their caller's module name: (file, function,
# the function that must have called it, or None).
FRAME_READERS = (
    ("/collections/__init__.py", "namedtuple", None),
    ("/typing.py", "_caller", None),
    ("/enum.py", "_create_", None),
    ("/logging/__init__.py", "<lambda>", "findCaller"),
)
IMPORTLIB_FILES = ("<frozen importlib._bootstrap_external>", "<frozen importlib._bootstrap>")


def _guard_job() -> list:
    """Install the job's seccomp filter and audit hook; returns the list the runner appends to while it
    formats a traceback of the job's (the only time frames are read on the job's behalf)."""
    _refuse_signal_handlers()
    formatting = []
    busy = set()  # threads inside the hook: the hook's own frame reads raise events too

    def guard(event, args):
        thread = _get_ident()
        if thread in busy:
            return
        busy.add(thread)
        try:
            reason = _refusal(event, args, formatting)
        finally:
            busy.discard(thread)
        if reason:
            raise PermissionError(f"not allowed in the sandbox: {reason}")

    sys.addaudithook(guard)
    return formatting


def _refusal(event: str, args: tuple, formatting: list) -> str:
    """Why the audited event is refused to the job ("" when it is allowed)."""
    if event in REFUSED_EVENTS or event.startswith("ctypes."):
        return event
    if event == "object.__getattr__" and args[1] in FRAME_ATTRIBUTES and not formatting:
        return f"reading {args[1]}"
    if event == "object.__setattr__" and args[1] == "__code__":
        return "replacing a function's code"
    if event == "sys._getframe" and not _frame_reader(sys._getframe(2)):
        return "sys._getframe"
    if (
        event in ("marshal.loads", "marshal.load")
        and sys._getframe(2).f_code.co_filename not in IMPORTLIB_FILES
    ):
        return event
    if event == "open" and _is_memory_file(args[0]):
        return "opening process memory"
    return ""


def _frame_reader(caller) -> bool:
    code = caller.f_code
    for suffix, name, parent in FRAME_READERS:
        if code.co_name == name and code.co_filename.endswith(suffix):
            if parent is None:
                return True
            above = caller.f_back
            return (
                above is not None
                and above.f_code.co_name == parent
                and above.f_code.co_filename.endswith(suffix)
            )
    return False


def _is_memory_file(path) -> bool:
    if _isinstance(path, int):
        return False
    try:
        text = os.fsdecode(path)
        return os.path.basename(text) == "mem" or os.path.basename(os.path.realpath(text)) == "mem"
    except (TypeError, ValueError, OSError):
        return True  # a path the guard cannot read is not opened


SECCOMP_ARCHES = {"x86_64": (0xC000003E, 13), "aarch64": (0xC00000B7, 134)}  # AUDIT_ARCH_*, rt_sigaction


def _refuse_signal_handlers() -> None:
    """A seccomp filter refusing (EPERM) every sigaction that installs a handler, and every system call
    of another ABI; the runner's own test timers are installed before it."""
    arch, rt_sigaction = SECCOMP_ARCHES[os.uname().machine]
    load, jump_eq, ret = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
    allow, refuse = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    jump_at_least = 0x35  # BPF_JMP|BPF_JGE|BPF_K
    program = [
        (load, 0, 0, 4),  # seccomp_data.arch
        (jump_eq, 1, 0, arch),
        (ret, 0, 0, refuse),
        (load, 0, 0, 0),  # seccomp_data.nr
        (jump_at_least, 0, 1, 0x40000000),  # x32 system calls (nr | 0x40000000) would dodge the nr check
        (ret, 0, 0, refuse),
        (jump_eq, 1, 0, rt_sigaction),
        (ret, 0, 0, allow),
        (load, 0, 0, 24),  # low half of args[1], the new action
        (jump_eq, 0, 2, 0),
        (load, 0, 0, 28),  # high half
        (jump_eq, 1, 0, 0),
        (ret, 0, 0, refuse),
        (ret, 0, 0, allow),  # a NULL action only reads the current one
    ]
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxQ", len(program), ctypes.addressof(buffer))
    if LIBC.prctl(38, 1, 0, 0, 0) != 0 or LIBC.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "the job's seccomp filter could not be installed")


def _raise_test_timeout(signum, frame):
    raise TestTimeout()


def _exit_code(exc: BaseException):
    if _isinstance(exc, SystemExit):
        return exc.code if _isinstance(exc.code, int) or exc.code is None else 1
    return None


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the job may have closed or replaced its streams
            pass


# ---------------------------------------------------------------- the runner side


EXIT_FORMAT = "iddq"  # what the launcher reports of a job's end: wait status, user and system CPU, max RSS
LAUNCH_FDS = ("body", "stdout", "stderr", "result")  # the job's ends of its pipes, in this order
LAUNCHER_WAIT_S = 5.0  # how long a live launcher may take to answer (it reaps a killed job at once)


class LauncherGone(Exception):
    """The launcher died or stopped answering: only a job can have done that (it runs as the same user)."""


class Launcher:
    """The process every job is forked from: forked from the runner once, before any job ran, and given
    nothing of any job but its pipes' descriptors and nonce, so a job's memory holds no earlier job's
    text, values or results (the runner's own memory holds them all, and the runner never forks again).
    It reports each job's pid, then its wait status and resource use."""

    def __init__(self, limits: dict, close_fds: tuple) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            ours.close()
            for fd in close_fds:
                os.close(fd)
            _serve_launches(theirs, limits)
        theirs.close()
        self.channel = ours

    def launch(self, nonce: str, fds: list) -> tuple[int, int]:
        """Start a job on these descriptors; returns its pid and a pidfd (readable once it exits)."""
        socket.send_fds(self.channel, [nonce.encode()], fds)
        self.channel.settimeout(LAUNCHER_WAIT_S)
        try:
            message, pidfds, _, _ = socket.recv_fds(self.channel, 64, 1)
        except OSError as exc:
            raise LauncherGone(f"the job launcher stopped answering ({exc.__class__.__name__})") from None
        if not message or len(pidfds) != 1:
            raise LauncherGone("the job launcher was killed")
        return int(message), pidfds[0]

    def exit_status(self, timeout: float = LAUNCHER_WAIT_S):
        status, user, system, max_rss = struct.unpack(EXIT_FORMAT, self._receive(64, timeout))
        return status, types.SimpleNamespace(ru_utime=user, ru_stime=system, ru_maxrss=max_rss)

    def _receive(self, size: int, timeout: float = LAUNCHER_WAIT_S) -> bytes:
        self.channel.settimeout(timeout)
        try:
            message = self.channel.recv(size)
        except OSError as exc:  # socket.timeout included
            raise LauncherGone(f"the job launcher stopped answering ({exc.__class__.__name__})") from None
        if not message:
            raise LauncherGone("the job launcher was killed")
        return message


def _serve_launches(channel: socket.socket, limits: dict) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    workdir = os.path.join(WORK_ROOT, "job")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 64, len(LAUNCH_FDS))
        except OSError:
            os._exit(0)
        if not message or len(fds) != len(LAUNCH_FDS):
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            channel.close()
            _job_process(message.decode(), dict(zip(LAUNCH_FDS, fds, strict=True)), limits, workdir, devnull)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)  # opened before the reaping below, so the runner's copy is never stale
        socket.send_fds(channel, [b"%d" % pid], [pidfd])
        os.close(pidfd)
        _, status, usage = os.wait4(pid, 0)
        channel.send(struct.pack(EXIT_FORMAT, status, usage.ru_utime, usage.ru_stime, usage.ru_maxrss))


def _job_process(nonce: str, fds: dict, limits: dict, workdir: str, devnull: int) -> None:
    try:
        job = _read_job(fds["body"])
        stdin_fd = _stdin_file(job.get("stdin", ""), devnull)
        _child_setup(limits, stdin_fd, fds["stdout"], fds["stderr"], fds["result"], workdir)
        exit_status = _run_in_child(job, nonce)  # flushes the job's streams before each record it writes
    except BaseException:  # noqa: BLE001 - the runner's own set-up failed: never a clean exit
        exit_status = 70
    os._exit(exit_status)


class Runner:
    def __init__(self, limits: dict, protocol_in: int, launcher: Launcher) -> None:
        self.limits = limits
        self.protocol_in = protocol_in
        self.launcher = launcher
        self.jobs_run = 0
        self.selector = selectors.DefaultSelector()  # one epoll for the runner's life, emptied per job
        self.devnull = os.open(os.devnull, os.O_RDWR)

    def run(self, job: dict, body_bytes: int) -> dict:
        """Run one job whose header is `job`; its body (program, tests, stdin) is still on the protocol pipe."""
        nonce = os.urandom(16).hex()
        os.mkdir(os.path.join(WORK_ROOT, "job"), 0o700)
        pipes = {name: os.pipe() for name in LAUNCH_FDS}
        oom_kills = _oom_kills()
        started = time.monotonic()
        ahead = self._send_body_ahead(pipes["body"][1], body_bytes)
        job_ends = [pipes[name][0 if name == "body" else 1] for name in LAUNCH_FDS]
        try:
            pid, pidfd = self.launcher.launch(nonce, job_ends)
        except LauncherGone:
            pid = pidfd = None
        for fd in job_ends:
            os.close(fd)
        self._send_body(pipes["body"][1], body_bytes - ahead)
        collected = self._collect(pid, pidfd, job, pipes, started)
        collected["oom_killed"] = oom_kills is not None and (_oom_kills() or 0) > oom_kills
        wiped = _wipe_writable_dirs() and _remove_sysv_ipc()
        verdict = _judge(job, nonce, collected, self.limits)
        verdict["wall_s"] = time.monotonic() - started
        self.jobs_run += 1
        verdict["recycle"] = bool(
            collected["leftovers"]
            or collected["launcher_gone"]
            or not wiped
            or collected["outcome"] == "timeout"  # killed mid-flight: its leftovers are not worth trusting
            or verdict["status"] == "memory_exceeded"
            or verdict["signal"] is not None
            or self.jobs_run >= self.limits["jobs_per_container"]
        )
        return verdict

    def _send_body_ahead(self, fd: int, size: int) -> int:
        """Before the launch, move what the body pipe holds without blocking (usually all of it), so the
        job starts with its body waiting for it; returns how many bytes were moved."""
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, min(max(size, 1), BODY_PIPE_BYTES))
        except OSError:
            pass  # a smaller pipe only means more of the body moves after the launch
        moved = 0
        while moved < size:
            try:
                step = os.splice(self.protocol_in, fd, size - moved, flags=os.SPLICE_F_NONBLOCK)
            except BlockingIOError:
                break
            if not step:
                raise EOFError("the protocol stream ended inside a job")
            moved += step
        return moved

    def _send_body(self, fd: int, size: int) -> None:
        """Move the job's body from the protocol pipe to the job, never through this process's memory."""
        try:
            while size:
                moved = os.splice(self.protocol_in, fd, size)
                if not moved:
                    raise EOFError("the protocol stream ended inside a job")
                size -= moved
        except BrokenPipeError:  # the job died before reading it all: drop the rest, unread
            while size:
                size -= os.splice(self.protocol_in, self.devnull, size) or size
        finally:
            os.close(fd)

    def _collect(self, pid, pidfd, job: dict, pipes: dict, started: float) -> dict:
        deadline = started + (job.get("timeout_s") or self.limits["timeout_s"])
        cap = self.limits["output_bytes"]
        streams = {"stdout": bytearray(), "stderr": bytearray(), "result": bytearray()}
        sizes = dict.fromkeys(streams, 0)
        selector = self.selector
        for name in streams:
            selector.register(pipes[name][0], selectors.EVENT_READ, name)
        if pid is not None:
            selector.register(pidfd, selectors.EVENT_READ, "exit")
        outcome, ended, launcher_gone = None, None, pid is None
        while outcome is None and not launcher_gone:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcome = "timeout"
                break
            for key, _ in selector.select(remaining):
                if key.data == "exit":
                    outcome = "exited"
                elif _read_into(key.fd, key.data, streams, sizes, cap, selector) == "over":
                    outcome = "output_exceeded"
        # The job is over: kill its group, then read what its pipes still hold (every writer is dead by then).
        if pid is not None:
            selector.unregister(pidfd)
            os.close(pidfd)
            _kill_group(pid)
            try:
                ended = self.launcher.exit_status()
            except LauncherGone:
                launcher_gone = True
        leftovers = _kill_everything_else(spare=None if launcher_gone else self.launcher.pid)
        for key in list(selector.get_map().values()):
            os.set_blocking(key.fd, False)
            while _read_into(key.fd, key.data, streams, sizes, cap, selector) not in ("eof", "empty"):
                pass
        for key in list(selector.get_map().values()):
            selector.unregister(key.fd)
        for name in streams:
            os.close(pipes[name][0])
        status, usage = (
            ended if ended else (None, types.SimpleNamespace(ru_utime=0.0, ru_stime=0.0, ru_maxrss=0))
        )
        return {
            "outcome": None if outcome == "exited" else outcome,
            "status": status,
            "usage": usage,
            "streams": streams,
            "sizes": sizes,
            "cap": cap,
            "leftovers": leftovers,
            "launcher_gone": launcher_gone,
        }


RESULT_CAP = 16 * MB


def _read_into(fd: int, name: str, streams: dict, sizes: dict, cap: int, selector) -> str:
    """Append one chunk from fd to its stream: "ok", "over" (past its cap), "eof" or "empty" (nothing yet)."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return "empty"
    if not chunk:
        selector.unregister(fd)
        return "eof"
    sizes[name] += len(chunk)
    limit = RESULT_CAP if name == "result" else cap
    streams[name] += chunk[: max(0, limit - len(streams[name]))]
    return "ok" if sizes[name] <= limit else "over"


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_everything_else(spare) -> bool:
    """SIGKILL every process in this PID namespace but this one and `spare` (the launcher, while it lives):
    only jobs live here; True if any was found."""
    keep = {os.getpid(), spare}
    found = False
    for _ in range(50):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in keep]
        alive = [p for p in others if not _is_zombie(p)]
        for p in alive:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap_all()
        if not others:
            return found
        found = found or bool(alive)
        time.sleep(0.001)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wipe_writable_dirs() -> bool:
    ok = True
    for top in WIPE_DIRS:
        if not os.path.isdir(top):
            continue
        for entry in os.listdir(top):
            path = os.path.join(top, entry)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, onerror=_force_remove)
                else:
                    os.unlink(path)
            except (
                OSError,
                RecursionError,
            ):  # a tree deeper than rmtree can recurse: the sandbox is recycled
                ok = False
        ok = ok and not os.listdir(top)
    return ok


def _force_remove(func, path, _exc_info) -> None:
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path):
        os.chmod(path, 0o700)
    func(path)


def _remove_sysv_ipc() -> bool:
    """Remove every System V shared memory segment, semaphore set and message queue a job left behind.

    The IPC namespace belongs to the whole sandbox, not to one job: without this, the next job could read
    them, and a segment would keep counting against the sandbox's memory. True when none is left.
    """
    removed = False
    for table, call in SYSV_IPC.items():
        for ipc_id in _sysv_ids(table):
            removed = True
            if call == "semctl":
                LIBC.semctl(ipc_id, 0, IPC_RMID)
            else:
                getattr(LIBC, call)(ipc_id, IPC_RMID, None)
    return not removed or not any(_sysv_ids(table) for table in SYSV_IPC)


def _sysv_ids(table: str) -> list:
    try:
        with open(f"/proc/sysvipc/{table}") as listing:
            rows = listing.read().splitlines()[1:]
    except OSError:
        return []
    return [int(row.split()[1]) for row in rows if row.strip()]


def _oom_counter():
    """The file counting the sandbox's memory-cgroup OOM kills (cgroup v2 or v1); None where there is none."""
    return next((path for path in OOM_COUNTERS if os.path.exists(path)), None)


OOM_COUNTER = _oom_counter()


def _oom_kills():
    """How many processes the sandbox's memory cgroup has OOM-killed so far; None where it cannot be read."""
    if OOM_COUNTER is None:
        return None
    try:
        with open(OOM_COUNTER) as counters:
            for line in counters:
                name, _, count = line.partition(" ")
                if name == "oom_kill":
                    return int(count)
    except (OSError, ValueError):
        pass
    return None


# ---------------------------------------------------------------- turning what was collected into a verdict


RECORD_FIELDS = {  # what each record must carry, with its type: anything else on the result pipe is ignored
    "program": {"ok": bool},
    "test": {"index": int, "status": str, "time_s": float, "error": str},
    "value": {"index": int, "slot": int},
    "done": {},
}
TEST_STATUSES = frozenset({"passed", "failed", "timeout", "memory_exceeded"})


def _parse_records(raw: bytes, nonce: str) -> list:
    """The job's records: lines carrying this job's nonce and the fields of their kind. The job can write
    anything to its result pipe (records of its own, deep nesting, invalid text): nothing it writes can
    make this raise."""
    records = []
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict) and record.get("nonce") == nonce and _well_formed(record):
            records.append(record)
    return records


def _well_formed(record: dict) -> bool:
    fields = RECORD_FIELDS.get(record.get("kind"))
    if fields is None or any(type(record.get(name)) is not kind for name, kind in fields.items()):
        return False
    if record["kind"] == "test":
        return record["status"] in TEST_STATUSES
    if record["kind"] == "program" and not record["ok"]:
        return type(record.get("error")) is str and type(record.get("exc")) is str
    return True


def _judge(job: dict, nonce: str, collected: dict, limits: dict) -> dict:
    records = _parse_records(bytes(collected["streams"]["result"]), nonce)
    program = next((r for r in records if r["kind"] == "program"), None)
    done = any(r["kind"] == "done" for r in records)
    tests = _test_results(job, records, collected["outcome"] == "timeout")
    status, usage = collected["status"], collected["usage"]
    ended = status is not None  # None: the launcher died, and with it the job's wait status
    signal_number = os.WTERMSIG(status) if ended and os.WIFSIGNALED(status) else None
    exit_code = os.WEXITSTATUS(status) if ended and os.WIFEXITED(status) else None
    cpu_s = usage.ru_utime + usage.ru_stime
    verdict_status = _overall_status(collected, program, done, tests, signal_number, exit_code, cpu_s, limits)
    error = program["error"] if program and not program["ok"] and verdict_status != "passed" else ""
    if verdict_status != "passed" and not error:
        error = _explain(collected, program, done, signal_number, exit_code, cpu_s, limits)
    return {
        "job_id": job["job_id"],
        "status": verdict_status,
        "tests": tests,
        "exit_code": exit_code,
        "signal": signal_number,
        "stdout": _text(collected, "stdout"),
        "stderr": _text(collected, "stderr"),
        "stdout_truncated": collected["sizes"]["stdout"] > collected["cap"],
        "stderr_truncated": collected["sizes"]["stderr"] > collected["cap"],
        "cpu_s": cpu_s,
        "peak_memory_mb": usage.ru_maxrss / 1024,
        "error": error,
    }


def _test_results(job: dict, records: list, timed_out: bool) -> list:
    by_index = {r["index"]: r for r in records if r["kind"] == "test"}
    values = {}
    for record in records:
        if record["kind"] == "value":
            report = {
                name: record[name] for name in ("slot", "value", "expected", "unplain") if name in record
            }
            values.setdefault(record["index"], []).append(report)
    results = []
    for index in range(job["n_tests"]):
        record = by_index.get(index)
        if record:
            result = {"status": record["status"], "time_s": record["time_s"], "error": record["error"]}
        elif timed_out and index == len(by_index):
            result = {
                "status": "timeout",
                "time_s": 0.0,
                "error": "job wall-clock limit reached during this test",
            }
        else:
            result = {"status": "failed", "time_s": 0.0, "error": "not run: the job ended before this test"}
        if index in values:
            result["values"] = values[index]
        results.append(result)
    return results


def _overall_status(collected, program, done, tests, signal_number, exit_code, cpu_s, limits) -> str:
    outcome = collected["outcome"]
    if outcome in ("timeout", "output_exceeded"):
        return outcome
    if collected["oom_killed"]:
        return "memory_exceeded"
    if collected["launcher_gone"]:
        return "failed"
    if _hit_cpu_limit(signal_number, cpu_s, limits):
        return "timeout"
    if _raised_memory_error(program, tests):
        return "memory_exceeded"
    if not tests:  # a program alone passes by exiting with status 0, however it got there
        return "passed" if exit_code == 0 else "failed"
    if program and program["ok"] and done and all(t["status"] == "passed" for t in tests):
        return "passed"
    if any(t["status"] == "timeout" for t in tests):
        return "timeout"
    return "failed"


def _hit_cpu_limit(signal_number, cpu_s: float, limits: dict) -> bool:
    """The kernel's CPU-time limit: SIGXCPU at the soft limit, SIGKILL at the hard one. Soft and hard are
    equal here, so a busy loop usually dies by SIGKILL; its CPU time tells it from a job that killed itself."""
    return signal_number in (signal.SIGXCPU, signal.SIGKILL) and cpu_s >= limits["cpu_s"] - 0.5


def _raised_memory_error(program, tests: list) -> bool:
    return bool(program and program.get("exc") == "MemoryError") or any(
        t["status"] == "memory_exceeded" for t in tests
    )


def _explain(
    collected: dict, program, done: bool, signal_number, exit_code, cpu_s: float, limits: dict
) -> str:
    if collected["outcome"] == "timeout":
        return "wall-clock limit reached"
    if collected["outcome"] == "output_exceeded":
        return f"output exceeded {collected['cap']} bytes"
    if collected["oom_killed"]:
        return "killed by the sandbox's memory limit (OOM)"
    if collected["launcher_gone"]:
        return "the job killed or stopped the sandbox's job launcher"
    if _hit_cpu_limit(signal_number, cpu_s, limits):
        return f"CPU-time limit of {limits['cpu_s']} s reached"
    if signal_number:
        name = signal.Signals(signal_number).name if signal_number in signal.valid_signals() else ""
        return f"killed by signal {signal_number} {name}".rstrip()
    if program is None:
        return f"the process exited with status {exit_code} before the program finished"
    if not done:
        return f"the process exited with status {exit_code} before the tests finished"
    return "a test failed"


def _text(collected: dict, name: str) -> str:
    return bytes(collected["streams"][name][: collected["cap"]]).decode("utf-8", "replace")


# ---------------------------------------------------------------- protocol loop


def _read_exactly(fd: int, size: int) -> bytes:
    """Exactly size bytes (b"" at a clean end of stream): never a byte of the next job."""
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            if data:
                raise EOFError("the protocol stream ended inside a frame")
            return b""
        data += chunk
    return data


def _frames(fd: int):
    """(header, body size) per job; the body stays on the pipe until Runner.run splices it to the child."""
    while True:
        frame = _read_exactly(fd, FRAME_BYTES)
        if not frame:
            return
        header_bytes, body_bytes = (int(field) for field in frame.split())
        yield json.loads(_read_exactly(fd, header_bytes)), body_bytes


def _broken_runner_verdict(job: dict, exc: Exception) -> dict:
    """A job that made the runner itself fail has failed: its verdict, never the sandbox's fault."""
    error = f"the job broke the sandbox runner: {_describe(exc)}"
    return {
        "job_id": job.get("job_id"),
        "status": "failed",
        "tests": [{"status": "failed", "time_s": 0.0, "error": error}] * int(job.get("n_tests") or 0),
        "error": error,
        "recycle": True,
    }


def main() -> None:
    if os.getpid() != 1:
        sys.exit("runner.py must be PID 1 of its own PID namespace (it kills every other process it can see)")
    if os.getuid() == 0:  # the sandbox user never is; root (even a namespace's) could wipe a host's /tmp
        sys.exit("runner.py never runs as root: it empties /tmp, /dev/shm and /dev/mqueue after every job")
    limits = json.loads(sys.argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _make_undumpable()
    _prepare_interpreter()
    gc.freeze()  # keep the collector off the runner's objects, so forked jobs copy fewer pages
    _wipe_writable_dirs()
    _remove_sysv_ipc()
    protocol_in = os.dup(0)
    protocol_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)  # nothing the runner's own libraries print can corrupt the protocol
    launcher = Launcher(limits, close_fds=(protocol_in, protocol_out))
    runner = Runner(limits, protocol_in, launcher)
    os.write(protocol_out, b'{"ready": true}\n')
    for job, body_bytes in _frames(protocol_in):
        try:
            verdict = runner.run(job, body_bytes)
        except (EOFError, BrokenPipeError):
            raise  # the host's side of the protocol broke: nothing left to answer
        except Exception as exc:  # noqa: BLE001 - only a job can have led here: its verdict, then a new sandbox
            verdict = _broken_runner_verdict(job, exc)
        os.write(protocol_out, (json.dumps(verdict) + "\n").encode())
        if verdict["recycle"]:
            return


if __name__ == "__main__":
    main()
