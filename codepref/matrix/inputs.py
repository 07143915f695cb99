"""The matrix stage's inputs: a loop task's samples (`matrix_problem`), a JSONL file of problems, or CodeT's
released HumanEval samples (`codepref matrix`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codepref.data.codet_samples import load_codet_samples
from codepref.matrix.build import MatrixProblem
from codepref.matrix.examples import DEFAULT_EXAMPLE_WEIGHT, prompt_example_tests, with_example_tests
from codepref.matrix.extraction import CODET_TESTS_PER_SAMPLE, TestPool, collect_tests
from codepref.records import read_records
from codepref.tasks.task import Task, solution_parts


def matrix_problem(
    task: Task,
    style: str,
    solutions: dict[str, Any],
    tests: dict[str, Any],
    tests_per_sample: int,
    example_weight: int = DEFAULT_EXAMPLE_WEIGHT,
) -> MatrixProblem:
    """The matrix stage's input for one task: its sampled solutions as programs, its sampled tests, and
    the examples its prompt shows counted `example_weight` times each (0: none)."""
    parts = [solution_parts(task, style, c["text"]) for c in solutions["completions"]]
    problem = MatrixProblem.from_raw(
        task.key,
        parts[0][0] if parts else task.prompt,
        task.entry_point,
        [solution for _, solution in parts],
        [c["text"] for c in tests["completions"]],
        limit=tests_per_sample or None,
    )
    examples = prompt_example_tests(task.prompt, task.entry_point) if example_weight else []
    return with_example_tests(problem, examples, example_weight)


def read_problem_file(path: str | Path, *, limit: int | None = CODET_TESTS_PER_SAMPLE) -> list[MatrixProblem]:
    """Problems from a JSONL file, one line per problem.

    Fields: `task_id`, `prompt`, `solutions` (completions, list of str), optional `solution_ids` and
    `entry_point`, and either `tests` (ready test snippets, deduplicated here with counts) or `raw_tests`
    (raw sampled test completions, extracted the CodeT way, which needs `entry_point`).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such problem file")
    return [_problem_from_record(record, f"{path}:{number}", limit) for number, record in read_records(path)]


def _problem_from_record(record: dict, where: str, limit: int | None) -> MatrixProblem:
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
            entry_point=str(record.get("entry_point") or ""),
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
