"""In-sandbox job runner: reads framed jobs on stdin, answers one verdict line per job on stdout.

Runs as PID 1 of its container (or bubblewrap PID namespace), so code under test cannot kill it. Stdlib
only; Python 3.10+ (os.splice). Its parts are in codepref_runtime/, beside this file:

- launcher.py: the process every job is forked from, forked from this one before any job ran and handed
  nothing of any job but its pipes, so a job's memory holds nothing of an earlier job (this process,
  which collects every job's output and records, never forks again);
- job.py: the job's side: runs the program, then each test, writing its records to a private pipe;
- guard.py: what the job's own code may not do (an audit hook and a seccomp filter);
- verdict.py: the records and streams collected, turned into the verdict;
- cleanup.py: what happens between jobs (kill leftovers, wipe /tmp, /dev/shm, /dev/mqueue and SysV IPC).

What a job can see: its own program, tests and stdin. Each job arrives as a small header and a body; the
runner reads the header, has the launcher fork the job, then moves the body straight from its stdin pipe
into a pipe the job reads (splice(2): kernel to kernel), so no job's text, queued or past, is ever in the
runner's memory either.
"""

import fcntl
import gc
import json
import os
import selectors
import signal
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # codepref_runtime/, beside this file
from codepref_runtime import cleanup  # noqa: E402 - found through the line above
from codepref_runtime.common import LIBC, MB, WORK_ROOT, describe  # noqa: E402
from codepref_runtime.launcher import LAUNCH_FDS, Launcher, LauncherGone  # noqa: E402
from codepref_runtime.verdict import judge  # noqa: E402

del sys.path[0]  # jobs import from the standard places only

PRELOADED_MODULES = (
    "abc array bisect calendar cmath collections collections.abc copy dataclasses datetime decimal enum "
    "fractions functools hashlib heapq io itertools json math numbers operator random re statistics string "
    "struct sys textwrap typing unicodedata"
).split()
FRAME_BYTES = 20  # "HHHHHHHHH BBBBBBBBB\n": header and body lengths
BODY_PIPE_BYTES = 1 << 20  # the body pipe is grown up to this (the unprivileged default maximum)


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
        LIBC.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except AttributeError:
        pass


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
        oom_kills = cleanup.oom_kills()
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
        collected["oom_killed"] = oom_kills is not None and (cleanup.oom_kills() or 0) > oom_kills
        wiped = cleanup.wipe_writable_dirs() and cleanup.remove_sysv_ipc()
        verdict = judge(job, nonce, collected, self.limits)
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
        while outcome is None and pid is not None:  # no pid: the launcher died before starting the job
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
            cleanup.kill_group(pid)
            try:
                ended = self.launcher.exit_status()
            except LauncherGone:
                launcher_gone = True
        leftovers = cleanup.kill_everything_else(spare=None if launcher_gone else self.launcher.pid)
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
    error = f"the job broke the sandbox runner: {describe(exc)}"
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
    cleanup.wipe_writable_dirs()
    cleanup.remove_sysv_ipc()
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
