"""In-sandbox job runner: reads jobs as JSON lines on stdin, answers one verdict line per job on stdout.

Runs as PID 1 of its container (or bubblewrap PID namespace), so code under test cannot kill it, and it
forks a fresh child for every job from an interpreter that has already imported the common standard
library: a job costs a fork, not an interpreter start. Stdlib only; Python 3.9+.

Why a job's pass cannot be forged: the child reports progress on a private pipe, every record carrying a
random per-job nonce, and a pass needs the final record written after the last test. Exiting early
(os._exit, sys.exit, signals), closing or scribbling on descriptors, or printing lookalike lines cannot
produce that record. The runner is non-dumpable, so the job cannot read the nonce of a later job or the
runner's descriptors through /proc or ptrace.
"""

import builtins
import ctypes
import gc
import json
import os
import resource
import selectors
import shutil
import signal
import sys
import time
import traceback

PRELOADED_MODULES = (
    "abc array bisect calendar cmath collections collections.abc copy dataclasses datetime decimal enum "
    "fractions functools hashlib heapq io itertools json math numbers operator random re statistics string "
    "struct sys textwrap typing unicodedata"
).split()
WORK_ROOT = "/tmp"
WIPE_DIRS = ("/tmp", "/dev/shm")
RESULT_FD = 3
ERROR_CHARS = 500
MB = 1 << 20


class TestTimeout(BaseException):
    """Raised in the job by SIGALRM when one test exceeds its own time limit."""


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


def _make_undumpable() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_CHARS]


# ---------------------------------------------------------------- the child side: runs the code under test


def _child_setup(limits: dict, stdin_fd: int, out_fd: int, err_fd: int, result_fd: int, workdir: str) -> None:
    os.setsid()
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
_exec, _compile, _isinstance, _type_name = exec, compile, isinstance, lambda obj: type(obj).__name__
_write, _clock, _set_timer = os.write, time.perf_counter, signal.setitimer
_quote, _float_text = json.encoder.encode_basestring_ascii, float.__repr__


def _record(nonce: str, kind: str, **fields) -> bytes:
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
    return ("{" + ", ".join(parts) + "}\n").encode()


def _run_in_child(job: dict, nonce: str) -> None:
    namespace = {
        "__name__": "__main__" if job.get("as_main", True) else "__sandbox__",
        "__builtins__": builtins,
    }
    tests, test_timeout = job.get("tests", ()), job.get("test_timeout_s")
    try:
        _exec(_compile(job["program"], "<program>", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - every escape, SystemExit included, fails the program
        if not _isinstance(exc, SystemExit):
            traceback.print_exc()
        _flush_streams()
        error, exc_name, code = _describe(exc), _type_name(exc), _exit_code(exc)
        _write(RESULT_FD, _record(nonce, "program", ok=False, error=error, exc=exc_name, code=code))
        return
    _flush_streams()
    _write(RESULT_FD, _record(nonce, "program", ok=True))
    if test_timeout:
        signal.signal(signal.SIGALRM, _raise_test_timeout)
    for index, test in enumerate(tests):
        started = _clock()
        status, error = "passed", ""
        try:
            if test_timeout:
                _set_timer(signal.ITIMER_REAL, test_timeout)
            _exec(_compile(test, f"<test {index}>", "exec"), namespace)
        except TestTimeout:
            status, error = "timeout", f"test exceeded {test_timeout}s"
        except BaseException as exc:  # noqa: BLE001
            status, error = ("memory_exceeded" if _isinstance(exc, MemoryError) else "failed"), _describe(exc)
        finally:
            if test_timeout:
                _set_timer(signal.ITIMER_REAL, 0)
        _flush_streams()
        elapsed = _clock() - started
        _write(RESULT_FD, _record(nonce, "test", index=index, status=status, time_s=elapsed, error=error))
    _write(RESULT_FD, _record(nonce, "done"))


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


class Runner:
    def __init__(self, limits: dict) -> None:
        self.limits = limits
        self.jobs_run = 0
        self.selector = selectors.DefaultSelector()  # one epoll for the runner's life, emptied per job
        self.devnull = os.open(os.devnull, os.O_RDONLY)

    def run(self, job: dict) -> dict:
        nonce = os.urandom(16).hex()
        workdir = os.path.join(WORK_ROOT, "job")
        os.mkdir(workdir, 0o700)
        names = (
            ("stdin", "stdout", "stderr", "result") if job.get("stdin") else ("stdout", "stderr", "result")
        )
        pipes = {name: os.pipe() for name in names}
        _flush_streams()  # nothing buffered in the runner may surface in the job's output
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            self._child(job, nonce, pipes, workdir)
        for name, (read_end, write_end) in pipes.items():
            os.close(read_end if name == "stdin" else write_end)
        collected = self._collect(pid, job, pipes, started)
        wiped = _wipe_writable_dirs()
        verdict = _judge(job, nonce, collected)
        verdict["wall_s"] = time.monotonic() - started
        self.jobs_run += 1
        verdict["recycle"] = bool(
            collected["leftovers"]
            or not wiped
            or collected["outcome"] == "timeout"  # killed mid-flight: its leftovers are not worth trusting
            or verdict["status"] == "memory_exceeded"
            or verdict["signal"] is not None
            or self.jobs_run >= self.limits["jobs_per_container"]
        )
        return verdict

    def _child(self, job: dict, nonce: str, pipes: dict, workdir: str) -> None:
        try:
            stdin_fd = pipes["stdin"][0] if "stdin" in pipes else self.devnull
            _child_setup(
                self.limits, stdin_fd, pipes["stdout"][1], pipes["stderr"][1], pipes["result"][1], workdir
            )
            _run_in_child(job, nonce)  # flushes the job's streams before each record it writes
        finally:
            os._exit(0)

    def _collect(self, pid: int, job: dict, pipes: dict, started: float) -> dict:
        deadline = started + (job.get("timeout_s") or self.limits["timeout_s"])
        cap = self.limits["output_bytes"]
        streams = {"stdout": bytearray(), "stderr": bytearray(), "result": bytearray()}
        sizes = dict.fromkeys(streams, 0)
        selector = self.selector
        for name in streams:
            selector.register(pipes[name][0], selectors.EVENT_READ, name)
        stdin = _StdinFeeder(pipes["stdin"][1] if "stdin" in pipes else -1, job.get("stdin", ""), selector)
        pidfd = os.pidfd_open(pid)
        selector.register(pidfd, selectors.EVENT_READ, "exit")
        outcome = None
        while outcome is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcome = "timeout"
                break
            events = selector.select(remaining)
            for key, _ in events:
                if key.data == "exit":
                    outcome = "exited"
                elif key.data == "stdin":
                    stdin.feed()
                elif _read_into(key.fd, key.data, streams, sizes, cap, selector) == "over":
                    outcome = "output_exceeded"
        # The job is over: kill its group, then read what its pipes still hold (every writer is dead by then).
        _kill_group(pid)
        _, status, usage = os.wait4(pid, 0)
        leftovers = _kill_everything_else()
        selector.unregister(pidfd)
        os.close(pidfd)
        stdin.close()
        for key in list(selector.get_map().values()):
            os.set_blocking(key.fd, False)
            while _read_into(key.fd, key.data, streams, sizes, cap, selector) not in ("eof", "empty"):
                pass
        for key in list(selector.get_map().values()):
            selector.unregister(key.fd)
        for name in streams:
            os.close(pipes[name][0])
        return {
            "outcome": None if outcome == "exited" else outcome,
            "status": status,
            "usage": usage,
            "streams": streams,
            "sizes": sizes,
            "cap": cap,
            "leftovers": leftovers,
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


class _StdinFeeder:
    """Writes the job's stdin without blocking, so a job that never reads it cannot stall the runner."""

    def __init__(self, fd: int, text: str, selector) -> None:
        self.fd, self.selector = fd, selector
        self.pending = memoryview(text.encode())
        if fd >= 0:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_WRITE, "stdin")

    def feed(self) -> None:
        try:
            self.pending = self.pending[os.write(self.fd, self.pending[:65536]) :]
        except BlockingIOError:
            return
        except BrokenPipeError:
            self.pending = self.pending[:0]
        if not self.pending:
            self.close()

    def close(self) -> None:
        if self.fd < 0:
            return
        if self.fd in self.selector.get_map():
            self.selector.unregister(self.fd)
        os.close(self.fd)
        self.fd = -1


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_everything_else() -> bool:
    """SIGKILL every other process in this PID namespace (only jobs live here); True if any was found."""
    me = os.getpid()
    found = False
    for _ in range(50):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
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
            except OSError:
                ok = False
        ok = ok and not os.listdir(top)
    return ok


def _force_remove(func, path, _exc_info) -> None:
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path):
        os.chmod(path, 0o700)
    func(path)


# ---------------------------------------------------------------- turning what was collected into a verdict


def _parse_records(raw: bytes, nonce: str) -> list:
    records = []
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("nonce") == nonce:
            records.append(record)
    return records


def _judge(job: dict, nonce: str, collected: dict) -> dict:
    records = _parse_records(bytes(collected["streams"]["result"]), nonce)
    program = next((r for r in records if r["kind"] == "program"), None)
    done = any(r["kind"] == "done" for r in records)
    tests = _test_results(job, records, collected["outcome"] == "timeout")
    status = collected["status"]
    usage = collected["usage"]
    signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    error = ""
    if program and not program["ok"]:
        error = program["error"]
        if program.get("code") is not None or program.get("exc") == "SystemExit":
            exit_code = program.get("code") if program.get("code") is not None else 0
    verdict_status = _overall_status(collected, program, done, tests, signal_number)
    if verdict_status != "passed" and not error:
        error = _explain(collected, program, done, signal_number)
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
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_memory_mb": usage.ru_maxrss / 1024,
        "error": error,
    }


def _test_results(job: dict, records: list, timed_out: bool) -> list:
    by_index = {r["index"]: r for r in records if r["kind"] == "test"}
    results = []
    for index in range(len(job.get("tests", ()))):
        record = by_index.get(index)
        if record:
            results.append({"status": record["status"], "time_s": record["time_s"], "error": record["error"]})
        elif timed_out and index == len(by_index):
            results.append(
                {"status": "timeout", "time_s": 0.0, "error": "job wall-clock limit reached during this test"}
            )
        else:
            results.append(
                {"status": "failed", "time_s": 0.0, "error": "not run: the job ended before this test"}
            )
    return results


def _overall_status(collected: dict, program, done: bool, tests: list, signal_number) -> str:
    outcome = collected["outcome"]
    if outcome in ("timeout", "output_exceeded"):
        return outcome
    if signal_number == signal.SIGXCPU:
        return "timeout"
    if signal_number == signal.SIGKILL or _raised_memory_error(program, tests):
        return "memory_exceeded"  # nobody but the kernel's OOM killer sends SIGKILL before the runner does
    if program and program["ok"] and done and all(t["status"] == "passed" for t in tests):
        return "passed"
    if any(t["status"] == "timeout" for t in tests):
        return "timeout"
    return "failed"


def _raised_memory_error(program, tests: list) -> bool:
    return bool(program and program.get("exc") == "MemoryError") or any(
        t["status"] == "memory_exceeded" for t in tests
    )


def _explain(collected: dict, program, done: bool, signal_number) -> str:
    if collected["outcome"] == "timeout":
        return "wall-clock limit reached"
    if collected["outcome"] == "output_exceeded":
        return f"output exceeded {collected['cap']} bytes"
    if signal_number:
        return f"killed by signal {signal_number}"
    if program is None:
        return "the process exited before the program finished"
    if not done:
        return "the process exited before the tests finished"
    return "a test failed"


def _text(collected: dict, name: str) -> str:
    return bytes(collected["streams"][name][: collected["cap"]]).decode("utf-8", "replace")


# ---------------------------------------------------------------- protocol loop


def _lines(fd: int):
    """Protocol lines from fd, read raw so no buffered request ever reaches a forked job's memory."""
    pending = b""
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())


def main() -> None:
    if os.getpid() != 1:
        sys.exit("runner.py must be PID 1 of its own PID namespace (it kills every other process it can see)")
    limits = json.loads(sys.argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _make_undumpable()
    _prepare_interpreter()
    gc.freeze()  # keep the collector off the runner's objects, so forked jobs copy fewer pages
    _wipe_writable_dirs()
    runner = Runner(limits)
    protocol_in = os.dup(0)
    protocol_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)  # nothing the runner's own libraries print can corrupt the protocol
    os.write(protocol_out, b'{"ready": true}\n')
    for line in _lines(protocol_in):
        job = json.loads(line)
        try:
            verdict = runner.run(job)
        except Exception as exc:  # noqa: BLE001 - report, then let the client replace this sandbox
            verdict = {
                "job_id": job.get("job_id"),
                "status": "sandbox_error",
                "error": _describe(exc),
                "recycle": True,
            }
        os.write(protocol_out, (json.dumps(verdict) + "\n").encode())
        if verdict["recycle"]:
            return


if __name__ == "__main__":
    main()
