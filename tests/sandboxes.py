"""Both sandbox backends as one pytest parameter, for the test files that check a behaviour on each.

No skip: a machine without Docker or bubblewrap fails these tests (CI installs both)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from codepref.sandbox import Job, Limits, Sandbox, Verdict

BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), "process"]


def open_sandbox(request: pytest.FixtureRequest, limits: Limits) -> Sandbox:
    """A one-worker sandbox on the backend `request.param` names (Docker's image built first)."""
    if request.param == "docker":
        request.getfixturevalue("docker_image")
    return Sandbox(backend=request.param, workers=1, limits=limits)


def run(sandbox: Sandbox, program: str, tests=(), **options) -> Verdict:
    return sandbox.run(Job(program, tuple(tests), **options))


def hold(marker: str) -> str:
    """Program text that keeps /tmp/job/MARKER open while the host reads the job's memory."""
    return f"import time\nheld = open({marker!r}, 'w')\ntime.sleep(5)\n"


def memory_while_running(sandbox: Sandbox, jobs: list[Job], marker: str) -> tuple[dict[str, bytes], dict]:
    """Run `jobs` in order; while the one that opens /tmp/job/`marker` sleeps, read from this host (as
    root: no job can stop it) all readable memory of that job's process, its launcher and the runner.

    Returns ({"job", "launcher", "runner"}: memory, {job_id: verdict})."""
    with ThreadPoolExecutor(1) as pool:
        verdicts = pool.submit(lambda: {v.job_id: v for v in sandbox.run_many(jobs)})
        job = _process_holding(marker)
        launcher = _parent(job)
        memory = {"job": _memory(job), "launcher": _memory(launcher), "runner": _memory(_parent(launcher))}
        return memory, verdicts.result()


def _process_holding(marker: str, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for pid in (int(name) for name in os.listdir("/proc") if name.isdigit()):
            try:
                links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            except OSError:
                continue
            if any(link.endswith("/" + marker) for link in links):
                return pid
        time.sleep(0.02)
    raise AssertionError(f"no process holds {marker} open")


def _parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _memory(pid: int) -> bytes:
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(part, 16) for part in fields[0].split("-"))
            if (
                not fields[1].startswith("r")
                or fields[-1] in ("[vvar]", "[vsyscall]")
                or end - start > 1 << 28
            ):
                continue
            try:
                chunks.append(os.pread(mem.fileno(), end - start, start))
            except OSError:
                continue
    return b"\0".join(chunks)
