"""Expected outputs of the plus variants: the canonical solution run on every input, in the sandbox, cached.

As in evalplus, the oracle of HumanEval+ and MBPP+ is whatever the canonical solution returns. It is
computed once per dataset and kept in `<cache>/expected/<sha256 of the dataset file>.json` (cache root:
$CODEPREF_CACHE_DIR, default ~/.cache/codepref). Each task's entry also records a digest of its program
and inputs, so a test that trims inputs, or an edited dataset, never reads stale outputs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from codepref.evaluate.differential import EXPECTED_MARKER
from codepref.evaluate.jobs import expected_outputs_job
from codepref.sandbox import DEFAULT_WORKERS, Sandbox, Verdict
from codepref.sandbox.types import limits_profile
from codepref.tasks.problem import ExpectedOutputs, Problem

CACHE_DIR_ENV = "CODEPREF_CACHE_DIR"
CACHE_FORMAT = 4  # bump when the way outputs are computed changes, so old caches are recomputed
EXPECTED_LIMITS = limits_profile("expected_outputs")


class ExpectedOutputsError(RuntimeError):
    """The canonical solution could not produce outputs for a task (names the task and why)."""


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "codepref")


def canonical(value: Any) -> Any:
    """A JSON-able, order-stable form of test inputs (sets sorted, tuples tagged) for digests."""
    if isinstance(value, (set, frozenset)):
        return {"set": sorted((canonical(item) for item in value), key=repr)}
    if isinstance(value, tuple):
        return {"tuple": [canonical(item) for item in value]}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, dict):
        return {"dict": [[canonical(k), canonical(v)] for k, v in value.items()]}
    if isinstance(value, (complex, float)):
        return {type(value).__name__: repr(value)}
    return value


def task_digest(problem: Problem) -> str:
    text = json.dumps(
        [
            CACHE_FORMAT,
            problem.benchmark,
            problem.reference_program,
            canonical(problem.base_inputs),
            canonical(problem.plus_inputs),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def dataset_key(problems: list[Problem]) -> str:
    """sha256 of the dataset file when every problem came from one local file, else of the problems' content."""
    sources = {problem.source for problem in problems}
    if len(sources) == 1 and Path(next(iter(sources))).is_file():
        digest = hashlib.sha256()
        with open(next(iter(sources)), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    return hashlib.sha256("".join(sorted(task_digest(p) for p in problems)).encode()).hexdigest()


def cache_path(problems: list[Problem]) -> Path:
    return cache_root() / "expected" / f"{dataset_key(problems)}.json"


def read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a damaged cache is recomputed, never trusted
    if (
        not isinstance(data, dict)
        or data.get("format") != CACHE_FORMAT
        or not isinstance(data.get("tasks"), dict)
    ):
        return {}
    return data["tasks"]


def write_cache(path: Path, tasks: dict[str, Any]) -> None:
    """Write atomically: a reader never sees half a cache, even if this process dies mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=path.name, suffix=".tmp", delete=False, encoding="utf-8"
    )
    with handle:
        json.dump({"format": CACHE_FORMAT, "tasks": tasks}, handle)
    os.replace(handle.name, path)


def entry_to_expected(entry: dict[str, Any]) -> ExpectedOutputs:
    return ExpectedOutputs(
        base=entry["base"],
        plus=entry["plus"],
        base_times=tuple(entry["base_times"]),
        plus_times=tuple(entry["plus_times"]),
        base_by_digest=entry["base_by_digest"],
        plus_by_digest=entry["plus_by_digest"],
    )


def parse_expected(problem: Problem, verdict: Verdict) -> dict[str, Any]:
    """The outputs the canonical run reported and the marked line it printed, checked for shape; anything
    else names the task and the cause."""
    if not verdict.passed:
        detail = verdict.tests[0].error if verdict.tests and verdict.tests[0].error else verdict.error
        raise ExpectedOutputsError(
            f"{problem.task_id}: the canonical solution failed in the sandbox ({verdict.status}: {detail})"
        )
    lines = [line for line in verdict.stdout.splitlines() if line.startswith(EXPECTED_MARKER)]
    if len(lines) != 1 or verdict.stdout_truncated:
        raise ExpectedOutputsError(f"{problem.task_id}: the canonical run printed no complete outputs line")
    entry = json.loads(lines[0][len(EXPECTED_MARKER) :])
    counts = {"base": len(problem.base_inputs), "plus": len(problem.plus_inputs)}
    reports = verdict.tests[0].values or []
    if [report.get("slot") for report in reports] != list(range(sum(counts.values()))) or any(
        "value" not in report for report in reports
    ):
        raise ExpectedOutputsError(f"{problem.task_id}: the canonical run did not report every output")
    outputs = [report["value"] for report in reports]
    entry["base"], entry["plus"] = outputs[: counts["base"]], outputs[counts["base"] :]
    for label, count in counts.items():
        if len(entry.get(f"{label}_times", ())) != count or type(entry.get(f"{label}_by_digest")) is not bool:
            raise ExpectedOutputsError(
                f"{problem.task_id}: the canonical run returned malformed {label} outputs"
            )
    return entry


def with_expected_outputs(
    problems: Iterable[Problem],
    *,
    backend: str = "auto",
    workers: int = DEFAULT_WORKERS,
    address: str | None = None,
    progress: bool = True,
) -> list[Problem]:
    """The problems with `expected` filled in for the plus variants (others are returned unchanged).

    Missing outputs are computed on a pool of `backend` x `workers` (at `address` for Ray) opened for that
    alone and closed before this returns, never on a pool that runs samples: outputs a canonical run
    reported can linger in its sandboxes' memory, which every later job there inherits."""
    problems = list(problems)
    plus = [problem for problem in problems if problem.is_plus]
    if not plus:
        return problems
    path = cache_path(plus)
    tasks = read_cache(path)
    missing = [p for p in plus if tasks.get(p.task_id, {}).get("digest") != task_digest(p)]
    if missing:
        with Sandbox(backend=backend, workers=workers, limits=EXPECTED_LIMITS, address=address) as sandbox:
            compute_missing(missing, tasks, path, sandbox, progress=progress)
    return [
        dataclasses.replace(p, expected=entry_to_expected(tasks[p.task_id])) if p.is_plus else p
        for p in problems
    ]


def compute_missing(
    missing: list[Problem], tasks: dict[str, Any], path: Path, sandbox: Sandbox, *, progress: bool
) -> None:
    jobs = {problem.task_id: expected_outputs_job(problem) for problem in missing}
    by_job = {job.job_id: problem for problem, job in zip(missing, jobs.values(), strict=True)}
    failures = []
    bar = tqdm(total=len(missing), desc="expected outputs", unit="task", disable=not progress)
    for verdict in sandbox.run_many(jobs.values()):
        problem = by_job[verdict.job_id]
        bar.update()
        try:
            entry = parse_expected(problem, verdict)
        except ExpectedOutputsError as err:
            failures.append(str(err))
            continue
        tasks[problem.task_id] = {"digest": task_digest(problem), **entry}
    bar.close()
    write_cache(path, tasks)  # keep what succeeded, so a rerun only redoes the failures
    if failures:
        raise ExpectedOutputsError(
            f"{len(failures)} task(s) without expected outputs: " + "; ".join(failures[:5])
        )
