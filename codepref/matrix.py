"""Code x test execution matrices: which sampled solution passes which sampled test.

Three parts:

* Test extraction, the way CodeT's released code (microsoft/CodeT, `src/postprocess.py` and `main.py`)
  turns raw sampled test completions into test snippets: prefix the completion with `assert `, split on
  `assert `, keep the pieces that mention the entry point, cut each at the stop sequences, keep the ones
  that compile, take the first `limit` (5) of each sample, then deduplicate the problem's pooled snippets
  while counting how many times each one was sampled.
* `build_matrices`: one sandbox job per distinct solution running all M tests of its problem (per-test
  verdicts and times come back in `Verdict.tests`), never N x M jobs. Results are appended to a JSONL file
  one problem at a time, so an interrupted build resumes where it stopped.
* The file format (`save_matrices` / `load_matrices`): JSONL, one line per problem, plain JSON fields
  `task_id, prompt, solution_ids, solutions, test_ids, tests, test_counts, n, m, job_status, format`, plus
  `passed` (the N x M bool matrix, row-major, `numpy.packbits` big-endian bit order, base64) and `times`
  (N x M little-endian float32 seconds, row-major, base64; NaN where a test did not run). Every line is a
  flat record that `datasets.load_dataset("json", ...)` reads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from codepref.records import drop_torn_tail, parse_record
from codepref.sandbox.ray_backend import RayAddressOption, backend_for

if TYPE_CHECKING:  # the sandbox is only needed to build matrices, not to read them
    from codepref.sandbox import Sandbox, Verdict

FORMAT = "codepref.matrix/1"

# CodeT/Codex stop sequences: a completion ends where the model starts a new top-level statement.
CODET_STOP_SEQUENCES: tuple[str, ...] = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
# CodeT's `--test_case_limit` default: the first 5 valid test snippets of each sampled completion.
CODET_TESTS_PER_SAMPLE = 5
# CodeT's `--timeout` default: 0.1 s per test snippet.
CODET_TEST_TIMEOUT_S = 0.1
# How the sandbox's runner marks the tests of a job that ended before reaching them (sandbox/runner.py).
NOT_RUN_MARK = "not run"


@dataclass
class ExecutionMatrix:
    """One problem's N solutions against its M distinct tests.

    `passed[i, j]` is True when solution i ran test j to completion; `times[i, j]` is that test's wall time
    in seconds (NaN where it did not run). `test_counts[j]` is how many sampled test lines were this test
    before deduplication. `solutions` are completions: the program that ran is `prompt + solution`.
    `job_status[i]` is the sandbox status of solution i's job ("" when not recorded); `test_timeout_s` the
    per-test limit the tests ran under.
    """

    task_id: str
    prompt: str
    solution_ids: list[str]
    solutions: list[str]
    test_ids: list[str]
    tests: list[str]
    test_counts: list[int]
    passed: np.ndarray  # bool, shape (N, M)
    times: np.ndarray  # float32 seconds, shape (N, M)
    job_status: list[str] = field(default_factory=list)
    test_timeout_s: float | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.passed.shape

    def to_record(self) -> dict[str, Any]:
        n, m = self.shape
        return {
            "format": FORMAT,
            "task_id": self.task_id,
            "prompt": self.prompt,
            "n": n,
            "m": m,
            "solution_ids": list(self.solution_ids),
            "solutions": list(self.solutions),
            "test_ids": list(self.test_ids),
            "tests": list(self.tests),
            "test_counts": [int(c) for c in self.test_counts],
            "job_status": list(self.job_status),
            "test_timeout_s": self.test_timeout_s,
            "passed": _encode_bits(self.passed),
            "times": _encode_floats(self.times),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], where: str = "record") -> ExecutionMatrix:
        for key in (
            "task_id",
            "prompt",
            "n",
            "m",
            "solution_ids",
            "solutions",
            "test_ids",
            "tests",
            "test_counts",
            "passed",
            "times",
        ):
            if key not in record:
                raise ValueError(f"{where}: missing field {key!r}")
        n, m = int(record["n"]), int(record["m"])
        for key, size in (
            ("solution_ids", n),
            ("solutions", n),
            ("test_ids", m),
            ("tests", m),
            ("test_counts", m),
        ):
            if len(record[key]) != size:
                raise ValueError(f"{where}: field {key!r} has {len(record[key])} entries, expected {size}")
        try:
            passed = _decode_bits(record["passed"], n, m)
            times = _decode_floats(record["times"], n, m)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        return cls(
            task_id=record["task_id"],
            prompt=record["prompt"],
            solution_ids=list(record["solution_ids"]),
            solutions=list(record["solutions"]),
            test_ids=list(record["test_ids"]),
            tests=list(record["tests"]),
            test_counts=[int(c) for c in record["test_counts"]],
            passed=passed,
            times=times,
            job_status=list(record.get("job_status") or []),
            test_timeout_s=record.get("test_timeout_s"),
        )


# --------------------------------------------------------------------------------------------------------
# Test extraction


def truncate_at_stop(text: str, stops: Sequence[str] = CODET_STOP_SEQUENCES) -> str:
    """Cut `text` at the earliest of the stop sequences (the stop sequence itself is dropped)."""
    cut = len(text)
    for stop in stops:
        at = text.find(stop)
        if at != -1:
            cut = min(cut, at)
    return text[:cut]


def _compiles_as_test(snippet: str) -> bool:
    """CodeT's validity rule (the snippet compiles as the body of a `try:` block), plus: it compiles on its
    own, which is how the sandbox runs it."""
    if "assert" not in snippet:
        return False
    indented = snippet.replace("\n", "\n    ")
    try:
        compile(f"try:\n    {indented}\nexcept:\n    pass\n", "<test>", "exec")
        compile(snippet, "<test>", "exec")
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        return False
    return True


def extract_tests(
    raw: str,
    entry_point: str,
    *,
    limit: int | None = CODET_TESTS_PER_SAMPLE,
    stops: Sequence[str] = CODET_STOP_SEQUENCES,
) -> list[str]:
    """The test snippets of one sampled test completion (the text that followed a prompt ending `assert `).

    Pieces between `assert ` markers are kept when they mention the entry point (checked before cutting at
    the stop sequences, as CodeT does), cut at the first stop sequence, stripped, and kept when they
    compile; the first `limit` survivors are returned (all of them when `limit` is None).
    """
    snippets = []
    for piece in f"assert {raw}".split("assert "):
        if not piece.strip() or entry_point.strip() not in piece:
            continue
        snippet = truncate_at_stop(f"assert {piece}".strip(), stops).strip()
        if snippet and _compiles_as_test(snippet):
            snippets.append(snippet)
    return snippets if limit is None else snippets[:limit]


@dataclass(frozen=True)
class TestPool:
    """A problem's distinct test snippets in first-seen order, with how often each was sampled."""

    __test__ = False  # not a pytest test class

    tests: list[str]
    counts: list[int]

    @property
    def ids(self) -> list[str]:
        return [snippet_id(t) for t in self.tests]


def collect_tests(
    raw_samples: Iterable[str],
    entry_point: str,
    *,
    limit: int | None = CODET_TESTS_PER_SAMPLE,
    stops: Sequence[str] = CODET_STOP_SEQUENCES,
) -> TestPool:
    """Extract every sample's tests, pool them, and deduplicate while keeping the sampling counts."""
    counts: Counter[str] = Counter()
    for raw in raw_samples:
        counts.update(extract_tests(raw, entry_point, limit=limit, stops=stops))
    tests = list(counts)  # Counter keeps first-insertion order
    return TestPool(tests=tests, counts=[counts[t] for t in tests])


def snippet_id(test: str) -> str:
    """A stable id for a test snippet: it does not depend on the order the snippets were sampled in."""
    return "t" + hashlib.sha1(test.encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------------------------------------
# Building matrices in the sandbox


@dataclass
class MatrixProblem:
    """What a matrix is built from: the prompt, N completions and M distinct test snippets."""

    task_id: str
    prompt: str
    solutions: list[str]
    tests: list[str]
    test_counts: list[int]
    solution_ids: list[str] = field(default_factory=list)

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
        )


@dataclass
class BuildStats:
    """What one `build_matrices` call did, for reports and benchmarks."""

    problems_total: int = 0
    problems_resumed: int = 0
    problems_built: int = 0
    problems_incomplete: int = 0  # left out of the file because of sandbox errors; a rerun retries them
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
    when `dedupe_solutions` (their rows are copies). A problem with a job that ended in `sandbox_error`
    is not written, so that a rerun retries it. Returns the matrices in the order of `problems`.
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
                done[builder.problem.task_id] = _write(out, builder.matrix())
                stats.problems_built += 1
        for verdict in sandbox.run_many(jobs) if jobs else ():
            builder, row = owner[verdict.job_id]
            builder.record(row, verdict)
            stats.statuses[str(verdict.status)] = stats.statuses.get(str(verdict.status), 0) + 1
            advance()
            if builder.complete:
                stats.test_runs += builder.test_runs
                if builder.sandbox_errors:
                    stats.problems_incomplete += 1
                else:
                    done[builder.problem.task_id] = _write(out, builder.matrix())
                    stats.problems_built += 1
    stats.wall_s = time.perf_counter() - started
    return [done[p.task_id] for p in problems if p.task_id in done], stats


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
        from codepref.sandbox.types import Status

        m = len(self.problem.tests)
        if len(verdict.tests) > m:
            raise RuntimeError(
                f"{self.problem.task_id}: sandbox returned {len(verdict.tests)} test results for {m} tests"
            )
        for j, result in enumerate(verdict.tests):
            if result.error.startswith(NOT_RUN_MARK):
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
            passed=self.passed[rows],
            times=self.times[rows],
            job_status=[self.status[r] for r in self.row_of],
            test_timeout_s=self.test_timeout_s,
        )


def _make_jobs(builders: dict[str, _ProblemBuilder], test_timeout_s: float):
    from codepref.sandbox.types import Job

    jobs, owner = [], {}
    for builder in builders.values():
        p = builder.problem
        if not p.tests:
            continue
        tests = tuple(p.tests)
        timeout = job_timeout_for(len(tests), test_timeout_s)
        for row in builder.unique_rows:
            job = Job(
                program=p.prompt + p.solutions[row] + "\n",
                tests=tests,
                as_main=False,
                test_timeout_s=test_timeout_s,
                timeout_s=timeout,
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
    for where, matrix in _iter_file(path):
        problem = wanted.get(matrix.task_id)
        if problem is None:
            continue
        if (matrix.solution_ids, matrix.solutions, matrix.tests) != (
            problem.solution_ids,
            problem.solutions,
            problem.tests,
        ):
            raise ValueError(
                f"{where}: matrix for {matrix.task_id} was built from other solutions or tests; "
                "delete the file or write to another path"
            )
        if matrix.test_timeout_s not in (None, test_timeout_s):
            raise ValueError(
                f"{where}: matrix for {matrix.task_id} ran with a {matrix.test_timeout_s} s test "
                f"timeout, not {test_timeout_s} s; delete the file or write to another path"
            )
        done[matrix.task_id] = matrix
    return done


def _write(out, matrix: ExecutionMatrix) -> ExecutionMatrix:
    out.write(json.dumps(matrix.to_record(), ensure_ascii=False) + "\n")
    out.flush()
    return matrix


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


# --------------------------------------------------------------------------------------------------------
# File format


def save_matrices(matrices: Iterable[ExecutionMatrix], path: str | Path) -> Path:
    """Write matrices to a JSONL file (one line per problem), replacing it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for matrix in matrices:
            _write(out, matrix)
    return path


def load_matrices(path: str | Path) -> Iterator[ExecutionMatrix]:
    """Read the matrices of a file written by `save_matrices` or `build_matrices`."""
    for _, matrix in _iter_file(Path(path)):
        yield matrix


def _iter_file(path: Path) -> Iterator[tuple[str, ExecutionMatrix]]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such matrix file")
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        yield where, ExecutionMatrix.from_record(parse_record(line, where), where)


def _encode_bits(passed: np.ndarray) -> str:
    return base64.b64encode(np.packbits(np.asarray(passed, dtype=bool).ravel()).tobytes()).decode("ascii")


def _decode_bits(text: str, n: int, m: int) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    if raw.size != math.ceil(n * m / 8):
        raise ValueError(
            f"field 'passed' holds {raw.size} bytes, expected {math.ceil(n * m / 8)} for {n}x{m}"
        )
    return np.unpackbits(raw, count=n * m).astype(bool).reshape(n, m)


def _encode_floats(times: np.ndarray) -> str:
    return base64.b64encode(np.asarray(times, dtype="<f4").tobytes()).decode("ascii")


def _decode_floats(text: str, n: int, m: int) -> np.ndarray:
    raw = base64.b64decode(text)
    if len(raw) != 4 * n * m:
        raise ValueError(f"field 'times' holds {len(raw)} bytes, expected {4 * n * m} for {n}x{m}")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(n, m)


# --------------------------------------------------------------------------------------------------------
# Input files for the command line


def read_problem_file(path: str | Path, *, limit: int | None = CODET_TESTS_PER_SAMPLE) -> list[MatrixProblem]:
    """Problems from a JSONL file, one line per problem.

    Fields: `task_id`, `prompt`, `solutions` (completions, list of str), optional `solution_ids`, and either
    `tests` (ready test snippets, deduplicated here with counts) or `raw_tests` (raw sampled test
    completions, extracted the CodeT way, which also needs `entry_point`).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such problem file")
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            problems.append(_problem_from_line(line, f"{path}:{number}", limit))
    return problems


def _problem_from_line(line: str, where: str, limit: int | None) -> MatrixProblem:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
    for key in ("task_id", "prompt", "solutions"):
        if key not in record:
            raise ValueError(f"{where}: missing field {key!r}")
    if not isinstance(record["solutions"], list) or not all(isinstance(s, str) for s in record["solutions"]):
        raise ValueError(f"{where}: field 'solutions' must be a list of strings")
    if "raw_tests" in record:
        if "entry_point" not in record:
            raise ValueError(f"{where}: field 'raw_tests' needs field 'entry_point'")
        pool = collect_tests(record["raw_tests"], record["entry_point"], limit=limit)
    elif "tests" in record:
        counts = Counter(record["tests"])
        pool = TestPool(tests=list(counts), counts=list(counts.values()))
    else:
        raise ValueError(f"{where}: needs field 'tests' or 'raw_tests'")
    try:
        return MatrixProblem(
            task_id=record["task_id"],
            prompt=record["prompt"],
            solutions=record["solutions"],
            tests=pool.tests,
            test_counts=pool.counts,
            solution_ids=list(record.get("solution_ids") or []),
        )
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def codet_problems(
    data_dir: str | Path | None,
    *,
    limit: int | None = CODET_TESTS_PER_SAMPLE,
    task_ids: Sequence[str] | None = None,
) -> list[MatrixProblem]:
    """CodeT's released CodeGen-16B HumanEval samples as matrix problems (HumanEval prompts, truncated
    completions, CodeT-extracted tests)."""
    from codepref.data.codet_samples import load_codet_samples

    samples = load_codet_samples(data_dir)
    chosen = list(samples) if task_ids is None else list(task_ids)
    problems = []
    for task_id in chosen:
        if task_id not in samples:
            raise ValueError(f"task id {task_id!r} is not in CodeT's HumanEval samples")
        s = samples[task_id]
        problems.append(
            MatrixProblem.from_raw(task_id, s.prompt, s.entry_point, s.solutions, s.raw_tests, limit=limit)
        )
    return problems


# --------------------------------------------------------------------------------------------------------
# Command line


def matrix_command(
    problems_file: Annotated[
        Path | None,
        typer.Argument(
            help="JSONL, one problem per line: task_id, prompt, solutions, and tests or raw_tests+entry_point."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Matrix JSONL file (appended to; resumable).")
    ] = Path("matrix.jsonl"),
    codet: Annotated[
        bool,
        typer.Option(
            "--codet", help="Use CodeT's released CodeGen-16B HumanEval samples instead of PROBLEMS_FILE."
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="CODEPREF_DATA_DIR", help="Directory holding CodeT's sample files."
        ),
    ] = None,
    tests_per_sample: Annotated[
        int,
        typer.Option(
            help="Keep the first K valid test snippets of each raw test sample (CodeT: 5; 0 keeps all)."
        ),
    ] = CODET_TESTS_PER_SAMPLE,
    test_timeout: Annotated[
        float, typer.Option(help="Per-test timeout in seconds (CodeT: 0.1).")
    ] = CODET_TEST_TIMEOUT_S,
    workers: Annotated[int, typer.Option(help="Parallel sandbox workers.")] = 2,
    backend: Annotated[str, typer.Option(help="Sandbox backend: auto, docker or process.")] = "auto",
    ray: RayAddressOption = None,
    max_problems: Annotated[int, typer.Option(help="Only the first N problems (0: all).")] = 0,
    dedupe: Annotated[
        bool, typer.Option(help="Run identical completions of a problem once (their rows are copies).")
    ] = True,
) -> None:
    """Build the N x M solution-by-test pass matrix of each problem in the sandbox (one job per solution)."""
    from rich.console import Console

    from codepref.sandbox import Limits, Sandbox

    console = Console(stderr=True, soft_wrap=True)
    limit = tests_per_sample or None
    if codet == (problems_file is not None):
        raise typer.BadParameter("give either PROBLEMS_FILE or --codet")
    try:
        problems = (
            codet_problems(data_dir, limit=limit) if codet else read_problem_file(problems_file, limit=limit)
        )
    except (ValueError, FileNotFoundError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    if max_problems:
        problems = problems[:max_problems]
    with Sandbox(
        backend=backend_for(ray, backend), workers=workers, limits=Limits(memory_mb=1024)
    ) as sandbox:
        matrices, stats = build_matrices(
            problems, out, sandbox, test_timeout_s=test_timeout, dedupe_solutions=dedupe
        )
    cells = sum(m.passed.size for m in matrices)
    console.print(
        f"{len(matrices)}/{stats.problems_total} problems in {out} ({stats.problems_resumed} resumed, "
        f"{stats.problems_incomplete} incomplete); {stats.jobs} jobs, {stats.test_runs} test runs, "
        f"{cells} cells, {stats.wall_s:.1f} s; job statuses {stats.statuses}"
    )
    if stats.problems_incomplete:
        console.print(
            "[yellow]some problems hit sandbox errors; run the same command again to retry them[/yellow]"
        )
        raise typer.Exit(1)
