"""The sandbox's typed surface: jobs in, verdicts out. Shared by every backend and every caller."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codepref.sandbox.split import SplitTest, ValueReport


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
    cpus: float = 1.0  # CPU quota of each sandbox (docker --cpus), so a busy job cannot starve the others


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

    With tests, the job passes only when the program ran to its end (a `sys.exit` in it fails) and every
    test ran to completion without raising; the per-test outcome is reported in `Verdict.tests` in the
    order given. A test's asserts (`==`, `!=`, comparisons with literals, truthiness, identity with
    None/True/False, tolerances, literal loops) are judged outside the job's process, on the computed
    value as plain data (codepref.sandbox.split); a test may also come split by its builder (a
    `SplitTest`, judged with the comparison it names) or be a `ValueReport`. Without tests, the job passes
    when its process exits with status 0: the program ran to its end, or called `sys.exit(0)` / `os._exit(0)`.
    `as_main=False` runs the program with `__name__ != "__main__"`, as openai/human-eval does, so
    `if __name__ == "__main__":` blocks in completions stay inert.
    """

    program: str
    tests: tuple[str | SplitTest | ValueReport, ...] = ()
    stdin: str = ""
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timeout_s: float | None = None  # overrides Limits.timeout_s for this job
    # CPU seconds per test snippet (wall-clock backstop: 4x that); None: only the job's wall clock
    test_timeout_s: float | None = None
    as_main: bool = True
    # The function the tests call: the program's definition stays visible to them even where its name is a
    # builtin's (MBPP's `sum`); every other builtin name a test uses is the real builtin (see the README).
    entry_point: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tests", tuple(self.tests))

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TestResult:
    status: Status
    time_s: float = 0.0
    error: str = ""  # exception type and message, capped
    values: list[Any] | None = None  # a ValueReport test's reports, as the runner sent them

    def to_dict(self) -> dict[str, Any]:
        data = {"status": str(self.status), "time_s": self.time_s, "error": self.error}
        if self.values is not None:
            data["values"] = self.values
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        status, error = Status(data["status"]), data.get("error", "")
        if status == Status.FAILED and error.startswith(NOT_RUN_ERROR_PREFIX):
            status = Status.NOT_RUN
        return cls(status, data.get("time_s", 0.0), error, data.get("values"))


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
