"""Run untrusted generated code and tests in isolated sandboxes: jobs in, verdicts out, streamed.

with Sandbox() as sandbox:  # DEFAULT_WORKERS sandboxes, the "auto" backend
    for verdict in sandbox.run_many(jobs):
        ...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from codepref.sandbox.backends import (
    BACKENDS,
    BackendUnavailable,
    make_backend,
    make_backend_or_none,
)
from codepref.sandbox.pool import DEFAULT_WORKERS, WorkerPool
from codepref.sandbox.ray_backend import RayPool
from codepref.sandbox.types import Job, Limits, Status, TestResult, Verdict

__all__ = [
    "BACKENDS",
    "BackendUnavailable",
    "DEFAULT_WORKERS",
    "Job",
    "Limits",
    "Sandbox",
    "Status",
    "TestResult",
    "Verdict",
    "make_backend",
    "make_backend_or_none",
]


class Sandbox:
    """A pool of `workers` long-lived sandboxes. Never runs code unsandboxed: no backend, no sandbox."""

    def __init__(
        self,
        backend: str = "auto",
        workers: int = DEFAULT_WORKERS,
        limits: Limits | None = None,
        image: str | None = None,
        address: str | None = None,  # backend="ray": the cluster (None: RAY_ADDRESS, or a local `ray start`)
    ):
        self.limits = limits or Limits()
        if backend == "ray":  # never chosen by "auto": it needs a cluster someone started on purpose
            self.backend = self._pool = RayPool(address, self.limits, image, workers)
            return
        self.backend = make_backend(backend, self.limits, image)
        self._pool = WorkerPool(self.backend.start, workers)

    def run(self, job: Job) -> Verdict:
        return next(self._pool.run_many([job]))

    def run_many(self, jobs: Iterable[Job]) -> Iterator[Verdict]:
        """Verdicts in completion order, each tagged with its job's `job_id`."""
        return self._pool.run_many(jobs)

    def close(self) -> None:
        self._pool.close()
        self.backend.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
