"""Building execution matrices in the sandbox: one job per distinct solution running all M tests of its
problem (per-test verdicts and times come back in `Verdict.tests`), never N x M jobs. Results are appended
to a JSONL file one problem at a time, so an interrupted build resumes where it stopped, and put in the
order of the problems once all are in. `SandboxMatrixBuilder` builds one problem's matrix in memory, for
the execution judge (`codepref.rank.judge.ExecutionJudge`) judging candidates it has not seen.

`tests_job` is the one builder of "program + tests" jobs: matrices, timing, the executability check and
the execution judge all run sampled code this way.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from codepref.matrix.extraction import CODET_TEST_TIMEOUT_S, CODET_TESTS_PER_SAMPLE, collect_tests, snippet_id
from codepref.matrix.format import ExecutionMatrix, iter_matrix_file, save_matrices, write_matrix
from codepref.records import drop_torn_tail
from codepref.sandbox.types import Job, Status

if TYPE_CHECKING:
    from codepref.sandbox import Sandbox, Verdict

log = logging.getLogger(__name__)


@dataclass
class MatrixProblem:
    """What a matrix is built from: the prompt, N completions and M distinct test snippets, each counted
    `test_counts[j]` times, `example_counts[j]` of them as one of the prompt's own examples (empty: none)."""

    task_id: str
    prompt: str
    solutions: list[str]
    tests: list[str]
    test_counts: list[int]
    solution_ids: list[str] = field(default_factory=list)
    entry_point: str = ""
    example_counts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.solution_ids:
            self.solution_ids = [f"{self.task_id}#{i}" for i in range(len(self.solutions))]
        if len(self.solution_ids) != len(self.solutions):
            raise ValueError(
                f"{self.task_id}: {len(self.solution_ids)} solution ids for {len(self.solutions)} solutions"
            )
        if len(self.test_counts) != len(self.tests):
            raise ValueError(
                f"{self.task_id}: {len(self.test_counts)} test counts for {len(self.tests)} tests"
            )
        if len(set(self.tests)) != len(self.tests):
            raise ValueError(f"{self.task_id}: tests must be distinct (merge repeats into test_counts)")
        if not self.example_counts:
            self.example_counts = [0] * len(self.tests)
        if len(self.example_counts) != len(self.tests) or any(
            not 0 <= e <= c for e, c in zip(self.example_counts, self.test_counts, strict=True)
        ):
            raise ValueError(
                f"{self.task_id}: example counts {self.example_counts} must be one per test, each between 0 "
                f"and its test count {self.test_counts}"
            )

    @classmethod
    def from_raw(
        cls,
        task_id: str,
        prompt: str,
        entry_point: str,
        solutions: list[str],
        raw_tests: Iterable[str],
        *,
        limit: int | None = CODET_TESTS_PER_SAMPLE,
        solution_ids: list[str] | None = None,
    ) -> MatrixProblem:
        pool = collect_tests(raw_tests, entry_point, limit=limit)
        return cls(
            task_id=task_id,
            prompt=prompt,
            solutions=list(solutions),
            tests=pool.tests,
            test_counts=pool.counts,
            solution_ids=list(solution_ids or []),
            entry_point=entry_point,
        )


@dataclass
class BuildStats:
    """What one `build_matrices` call did, for reports and benchmarks."""

    problems_total: int = 0
    problems_resumed: int = 0
    problems_built: int = 0
    sandbox_errors: int = 0  # jobs whose sandbox fault persisted: their rows fail every test
    jobs: int = 0
    test_runs: int = 0
    wall_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)


def job_timeout_for(n_tests: int, test_timeout_s: float, base_s: float = 5.0) -> float:
    """Hard wall clock of one solution's job: start-up plus every test running to its soft timeout.

    CodeT gives a job `timeout * n_tests` (+0.1 s); the extra start-up allowance covers the interpreter and
    the solution's own top-level code, and the 1.5 factor the per-test bookkeeping on a loaded machine.
    """
    return base_s + 1.5 * test_timeout_s * n_tests


def tests_job(
    program: str,
    tests: Sequence[str],
    test_timeout_s: float,
    job_id: str | None = None,
    as_main: bool = False,
    entry_point: str | None = None,
) -> Job:
    """A job running `program` (with `__name__` not "__main__" unless `as_main`, so demo blocks stay inert),
    then each test in its namespace under `test_timeout_s`, within a wall clock sized for all of them.
    `entry_point`: the function the tests call (see `Job.entry_point`)."""
    extra = {"job_id": job_id} if job_id is not None else {}
    return Job(
        program=program,
        tests=tuple(tests),
        as_main=as_main,
        entry_point=entry_point or None,
        test_timeout_s=test_timeout_s,
        timeout_s=job_timeout_for(len(tests), test_timeout_s),
        **extra,
    )


def build_matrices(
    problems: Sequence[MatrixProblem],
    out_path: str | Path,
    sandbox: Sandbox,
    *,
    test_timeout_s: float = CODET_TEST_TIMEOUT_S,
    dedupe_solutions: bool = True,
    progress: bool = True,
) -> tuple[list[ExecutionMatrix], BuildStats]:
    """Build (or finish building) the execution matrix of every problem, appending each to `out_path`.

    Problems already in `out_path` are read back, not rerun (they must have the same solution and test ids,
    else the file belongs to other inputs and this raises). Identical completions of a problem run once
    when `dedupe_solutions` (their rows are copies). A job that ended in `sandbox_error` (a fault that
    persisted after the pool's retry) fails every test of its rows, so no problem ever leaves the file
    because of one; a rerun builds such a problem again. Once all are in, the file is rewritten in the
    order of `problems` (matrices of other problems after them). Returns the matrices in that order.
    """
    out_path = Path(out_path)
    started = time.perf_counter()
    stats = BuildStats(problems_total=len(problems))
    done = _read_existing(out_path, problems, test_timeout_s)
    stats.problems_resumed = len(done)
    pending = [p for p in problems if p.task_id not in done]

    builders = {p.task_id: _ProblemBuilder(p, dedupe_solutions, test_timeout_s) for p in pending}
    jobs, owner = _make_jobs(builders, test_timeout_s)
    stats.jobs = len(jobs)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("a", encoding="utf-8") as out, _progress_bar(len(jobs), progress) as advance:
        for builder in builders.values():  # problems without tests or solutions need no job
            if builder.complete:
                done[builder.problem.task_id] = write_matrix(out, builder.matrix())
                stats.problems_built += 1
        for verdict in sandbox.run_many(jobs) if jobs else ():
            builder, row = owner[verdict.job_id]
            builder.record(row, verdict)
            stats.statuses[str(verdict.status)] = stats.statuses.get(str(verdict.status), 0) + 1
            advance()
            if builder.complete:
                stats.test_runs += builder.test_runs
                stats.sandbox_errors += builder.sandbox_errors
                done[builder.problem.task_id] = write_matrix(out, builder.matrix())
                stats.problems_built += 1
    _put_in_order(out_path, [p.task_id for p in problems])
    stats.wall_s = time.perf_counter() - started
    return [done[p.task_id] for p in problems], stats


class SandboxMatrixBuilder:
    """The execution judge's `MatrixBuilder`: candidates (completions of `prompt`) against distinct tests in
    the sandbox, built in memory as `build_matrices` builds a problem (identical candidates run once). A
    sandbox fault fails its candidate's tests, with a warning: it says nothing about the code."""

    def __init__(self, sandbox: Sandbox, *, test_timeout_s: float = 3.0) -> None:
        self.sandbox = sandbox
        self.test_timeout_s = test_timeout_s

    def __call__(self, prompt: str, candidates: Sequence[str], tests: Sequence[str]) -> np.ndarray:
        problem = MatrixProblem("judged", prompt, list(candidates), list(tests), [1] * len(tests))
        builder = _ProblemBuilder(problem, True, self.test_timeout_s)
        jobs, owner = _make_jobs({problem.task_id: builder}, self.test_timeout_s)
        for verdict in self.sandbox.run_many(jobs) if jobs else ():
            builder.record(owner[verdict.job_id][1], verdict)
            if verdict.status == Status.SANDBOX_ERROR:
                log.warning("sandbox error on a candidate (counted as failing): %s", verdict.error)
        return builder.matrix().passed


class _ProblemBuilder:
    """Collects one problem's verdicts, one per distinct completion, into its matrix."""

    def __init__(self, problem: MatrixProblem, dedupe: bool, test_timeout_s: float) -> None:
        self.problem = problem
        self.test_timeout_s = test_timeout_s
        n, m = len(problem.solutions), len(problem.tests)
        if dedupe:
            first_row: dict[str, int] = {}
            self.row_of = [first_row.setdefault(s, i) for i, s in enumerate(problem.solutions)]
        else:
            self.row_of = list(range(n))
        self.unique_rows = sorted(set(self.row_of))
        self.passed = np.zeros((n, m), dtype=bool)
        self.times = np.full((n, m), np.nan, dtype=np.float32)
        self.status = [""] * n
        self.waiting = set(self.unique_rows) if m else set()
        self.sandbox_errors = 0
        self.test_runs = 0

    @property
    def complete(self) -> bool:
        return not self.waiting

    def record(self, row: int, verdict: Verdict) -> None:
        m = len(self.problem.tests)
        if len(verdict.tests) > m:
            raise RuntimeError(
                f"{self.problem.task_id}: sandbox returned {len(verdict.tests)} test results for {m} tests"
            )
        for j, result in enumerate(verdict.tests):  # none for a sandbox error: its row fails every test
            if result.status == Status.NOT_RUN:
                continue  # stays failed, with NaN time
            self.passed[row, j] = result.status == Status.PASSED
            self.times[row, j] = result.time_s
            self.test_runs += 1
        self.status[row] = str(verdict.status)
        if verdict.status == Status.SANDBOX_ERROR:
            self.sandbox_errors += 1
        self.waiting.discard(row)

    def matrix(self) -> ExecutionMatrix:
        rows = np.asarray(self.row_of, dtype=np.int64)
        p = self.problem
        return ExecutionMatrix(
            task_id=p.task_id,
            prompt=p.prompt,
            solution_ids=list(p.solution_ids),
            solutions=list(p.solutions),
            test_ids=[snippet_id(t) for t in p.tests],
            tests=list(p.tests),
            test_counts=list(p.test_counts),
            example_counts=list(p.example_counts),
            passed=self.passed[rows],
            times=self.times[rows],
            job_status=[self.status[r] for r in self.row_of],
            test_timeout_s=self.test_timeout_s,
            entry_point=p.entry_point,
        )


def _make_jobs(builders: dict[str, _ProblemBuilder], test_timeout_s: float) -> tuple[list[Job], dict]:
    jobs, owner = [], {}
    for builder in builders.values():
        p = builder.problem
        if not p.tests:
            continue
        for row in builder.unique_rows:
            job = tests_job(
                p.prompt + p.solutions[row] + "\n", p.tests, test_timeout_s, entry_point=p.entry_point
            )
            jobs.append(job)
            owner[job.job_id] = (builder, row)
    return jobs, owner


def _read_existing(
    path: Path, problems: Sequence[MatrixProblem], test_timeout_s: float
) -> dict[str, ExecutionMatrix]:
    """Matrices already in `path` for these problems, checked against the inputs they claim to be from."""
    if not path.exists():
        return {}
    drop_torn_tail(path)
    wanted = {p.task_id: p for p in problems}
    done = {}
    for where, matrix in iter_matrix_file(path):
        problem = wanted.get(matrix.task_id)
        if problem is None:
            continue
        if (matrix.solution_ids, matrix.solutions, matrix.tests, matrix.example_counts) != (
            problem.solution_ids,
            problem.solutions,
            problem.tests,
            problem.example_counts,
        ):
            raise ValueError(
                f"{where}: matrix for {matrix.task_id} was built from other solutions, tests or example counts; "
                "delete the file or write to another path"
            )
        if matrix.test_timeout_s not in (None, test_timeout_s):
            raise ValueError(
                f"{where}: matrix for {matrix.task_id} ran with a {matrix.test_timeout_s} s test "
                f"timeout, not {test_timeout_s} s; delete the file or write to another path"
            )
        done[matrix.task_id] = matrix  # a problem built again after a sandbox error: its last build counts
    # A row lost to a sandbox fault counted as failing; a rerun gives its problem another chance.
    return {task_id: m for task_id, m in done.items() if Status.SANDBOX_ERROR not in m.job_status}


def _put_in_order(path: Path, task_ids: list[str]) -> None:
    """Rewrite a finished file with its matrices in the order of `task_ids` (any others after them).

    Jobs finish in an order that changes from run to run; downstream the pairs file, and so the trainer's
    batches and the model it trains, follow the file's order, so a build must not leave it to chance.
    """
    matrices = [matrix for _, matrix in iter_matrix_file(path)]
    latest = {m.task_id: m for m in matrices}  # a problem built again after a sandbox error: the last build
    position = {task_id: i for i, task_id in enumerate(task_ids)}
    ordered = sorted(latest.values(), key=lambda m: position.get(m.task_id, len(position)))  # stable
    if [m.task_id for m in ordered] == [m.task_id for m in matrices]:
        return
    staged = path.with_name(path.name + ".ordering")
    save_matrices(ordered, staged)
    os.replace(staged, path)  # atomic: a kill leaves the old file or the new one, never half of either


class _progress_bar:
    """A rich progress bar over jobs (a no-op when disabled); yields an `advance()` callable."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled and total > 0
        self._progress = None

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self._progress.__enter__()
        task = self._progress.add_task("matrix jobs", total=self.total)
        return lambda: self._progress.advance(task)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
