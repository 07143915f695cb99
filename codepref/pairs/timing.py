"""Timing solutions for CodeDPO's efficiency pairs: the distinct solutions tied at the top are timed on the
trusted tests (those every one of them passes), `timing_repeats` runs each, median of the summed per-test
times; the fastest is paired against the slowest while slow / fast >= `speedup`, the medians differ by at
least `min_time_diff_s` and the two solutions' run times do not overlap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from codepref.matrix.build import tests_job
from codepref.sandbox.types import Status

log = logging.getLogger(__name__)


class Timer(Protocol):
    def __call__(
        self, prompt: str, solutions: Sequence[str], tests: Sequence[str], repeats: int
    ) -> np.ndarray:
        """Seconds per run, shape (len(solutions), repeats): one run executes all `tests`; NaN where it failed."""


def median_times(runs: np.ndarray) -> np.ndarray:
    """Median over repeats per solution; NaN for a solution with any failed run (it is not reliably correct)."""
    runs = np.asarray(runs, dtype=np.float64)
    medians = np.full(runs.shape[0], np.nan)
    complete = ~np.isnan(runs).any(axis=1) & (runs.shape[1] > 0)
    medians[complete] = np.median(runs[complete], axis=1)
    return medians


def fast_slow_pairs(
    runs: np.ndarray, speedup: float, min_diff_s: float, max_pairs: int
) -> list[tuple[int, int]]:
    """(fast, slow) rows of `runs` (solutions x repeats): i-th fastest against i-th slowest by median.

    A pair needs slow / fast >= `speedup` and slow - fast >= `min_diff_s` on the medians, and every run of
    the slow one slower than every run of the fast one: sub-millisecond programs in containers jitter by
    more than their real differences, and only separated run times say the difference is not noise.
    """
    runs = np.asarray(runs, dtype=np.float64)
    medians = median_times(runs)
    valid = np.flatnonzero(np.isfinite(medians) & (medians > 0))
    by_time = valid[np.argsort(medians[valid], kind="stable")]
    pairs = []
    for k in range(min(max_pairs, len(by_time) // 2)):
        fast, slow = int(by_time[k]), int(by_time[-1 - k])
        clearly_faster = (
            medians[slow] >= speedup * medians[fast] and medians[slow] - medians[fast] >= min_diff_s
        )
        if not (clearly_faster and runs[slow].min() > runs[fast].max()):
            break
        pairs.append((fast, slow))
    return pairs


class SandboxTimer:
    """Times solutions in the sandbox: each repeat is a fresh job running every trusted test.

    Repeats are submitted round-robin (all solutions once, then again) so slow drift in machine load
    falls on every solution alike. A run's time is the sum of its per-test times (the program's own
    start-up is left out); NaN where the run did not pass.
    """

    def __init__(
        self,
        sandbox: Any,
        *,
        test_timeout_s: float = 3.0,
        as_main: bool = False,
        program: Callable[[str, str], str] = lambda prompt, solution: prompt + solution + "\n",
    ) -> None:
        self.sandbox = sandbox
        self.test_timeout_s = test_timeout_s
        self.as_main = as_main
        self.program = program

    def __call__(
        self, prompt: str, solutions: Sequence[str], tests: Sequence[str], repeats: int
    ) -> np.ndarray:
        jobs = [
            tests_job(self.program(prompt, solution), tests, self.test_timeout_s, f"{i}:{r}", self.as_main)
            for r in range(repeats)
            for i, solution in enumerate(solutions)
        ]
        runs = np.full((len(solutions), repeats), np.nan)
        for verdict in self.sandbox.run_many(jobs):
            if verdict.status == Status.SANDBOX_ERROR:  # untimed, as any run that did not pass
                log.warning(
                    "sandbox error while timing job %s (counted as failing): %s",
                    verdict.job_id,
                    verdict.error,
                )
            i, r = (int(part) for part in verdict.job_id.split(":"))
            if verdict.passed:
                runs[i, r] = sum(result.time_s for result in verdict.tests)
        return runs
