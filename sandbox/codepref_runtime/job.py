"""The job's side of the runner: runs in the process the launcher forks for each job.

It reads the job's body from its pipe, sets the job's limits, runs the program and then each test, and
writes one record per event (program ended, value reported, test ended, done) to its private result pipe,
each tagged with the job's nonce. Tests are compiled before the program runs, with the value reporter
bound as a constant of their code, and run with the builtins as they were before the program ran; the
guard (guard.py) is installed between the two.
"""

import ast
import builtins
import collections
import json
import os
import resource
import signal
import sys
import time
import traceback
import types
import warnings

from codepref_runtime.common import MB, RESULT_FD, describe, sealed
from codepref_runtime.guard import guard_job

WALL_SLACK = 4.0  # a test's wall-clock backstop, as a multiple of its CPU-time limit
REPORTER = "__codepref_value__"  # what split tests call with each value (see codepref/sandbox/split.py)
VALUE_CHARS = 8 * MB  # one reported value, encoded
VALUE_DEPTH = 200


class TestTimeout(BaseException):
    """Raised in the job by SIGPROF/SIGALRM when one test exceeds its own time limit."""


class NotPlainData(Exception):
    pass


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
# json.dumps, os.write or isinstance cannot change how its own tests are run or reported (and this
# module's own names are read from a sealed copy, see `run_job_process`).
_exec, _compile, _isinstance, _type = exec, compile, isinstance, type
_write, _clock, _set_timer, _exit = os.write, time.perf_counter, signal.setitimer, os._exit
_PROF, _REAL, _print_exc = signal.ITIMER_PROF, signal.ITIMER_REAL, traceback.print_exc
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
        signal.signal(signal.SIGPROF, _TEST_TIMER_HANDLER)
        signal.signal(signal.SIGALRM, _TEST_TIMER_HANDLER)
    formatting = guard_job()  # from here on, the job's own code may run
    try:
        _exec(_compile(job["program"], "<program>", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - every escape, SystemExit included, ends the program
        if not _isinstance(exc, SystemExit):
            formatting.append(True)  # the traceback module reads tb_frame, which the guard refuses the job
            try:
                _print_exc()
            finally:
                formatting.clear()
        _flush_streams()
        error, exc_name, code = describe(exc), _type(exc).__name__, _exit_code(exc)
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
                _set_timer(_PROF, test_limit)
                _set_timer(_REAL, WALL_SLACK * test_limit)
            if _isinstance(code, BaseException):
                raise code
            _exec(code, scope)
        except TestTimeout:
            status, error = "timeout", f"test exceeded {test_limit}s of CPU time"
            if _clock() - started >= WALL_SLACK * test_limit:
                error = f"test exceeded {WALL_SLACK * test_limit:g}s of wall time (limit {test_limit}s CPU)"
        except BaseException as exc:  # noqa: BLE001
            status, error = ("memory_exceeded" if _isinstance(exc, MemoryError) else "failed"), describe(exc)
        finally:
            if test_limit:
                _set_timer(_PROF, 0)
                _set_timer(_REAL, 0)
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


def _raise_test_timeout(signum, frame):
    raise TestTimeout()


# The handler as installed: the job can read it back (signal.getsignal), so it leads nowhere but to the
# exception it raises, not to this module's namespace.
_TEST_TIMER_HANDLER = types.FunctionType(
    _raise_test_timeout.__code__, {"__builtins__": {}, "TestTimeout": TestTimeout}
)


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


def run_job_process(nonce: str, fds: dict, limits: dict, workdir: str, devnull: int) -> None:
    """The job's process, from the launcher's fork to its exit; never returns."""
    sealed(globals())["_job_main"](nonce, fds, limits, workdir, devnull)


def _job_main(nonce: str, fds: dict, limits: dict, workdir: str, devnull: int) -> None:
    try:
        job = _read_job(fds["body"])
        stdin_fd = _stdin_file(job.get("stdin", ""), devnull)
        _child_setup(limits, stdin_fd, fds["stdout"], fds["stderr"], fds["result"], workdir)
        exit_status = _run_in_child(job, nonce)  # flushes the job's streams before each record it writes
    except BaseException:  # noqa: BLE001 - the runner's own set-up failed: never a clean exit
        exit_status = 70
    _exit(exit_status)
