"""Sampling benchmark problems the way the benchmarks do, outside the loop: each problem's completion-style
solution prompt, or its CodeT-style test prompt, into a resumable generation file, read back cut at the
prompt's stop sequences (test snippets are then extracted by `codepref.matrix.extraction`).

The loop renders its prompts from `Task`s instead (`codepref.tasks.task`), in the run's prompt style."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from codepref.generate import GenerationRequest, Generator, PromptRecord, generate_jsonl, read_generations
from codepref.tasks.extract import truncate_at_stop
from codepref.tasks.problem import Problem
from codepref.tasks.prompts import Prompt, codet_test_prompt, solution_prompt


def problem_prompt(problem: Problem, tests: bool = False) -> Prompt:
    """The problem's completion-style solution prompt, or with `tests` its CodeT-style test prompt."""
    return (codet_test_prompt if tests else solution_prompt)(problem.prompt, problem.entry_point)


def sample_problems(
    generator: Generator,
    problems: Iterable[Problem],
    out: Path,
    request: GenerationRequest,
    *,
    tests: bool = False,
    chunk_size: int = 64,
) -> dict[str, list[str]]:
    """task_id -> `request.n` completions of each problem's prompt (`problem_prompt`), cut at its stops.
    Sampled into `out` as `generate_jsonl` does: a problem already there is not sampled again."""
    problems = list(problems)
    records = [
        PromptRecord(key=problem.task_id, prompt=prompt.text, stop=prompt.stop)
        for problem in problems
        for prompt in [problem_prompt(problem, tests)]
    ]
    generate_jsonl(generator, records, out, request, chunk_size=chunk_size)
    return read_problem_samples(problems, out, tests=tests)


def read_problem_samples(
    problems: Iterable[Problem], out: Path, *, tests: bool = False
) -> dict[str, list[str]]:
    """task_id -> every completion sampled into `out` (by `sample_problems`) for these problems, cut at
    its prompt's stops; a problem the file does not hold yet is left out."""
    stops = {problem.task_id: problem_prompt(problem, tests).stop for problem in problems}
    return {
        key: [truncate_at_stop(c["text"], stops[key])[0] for c in row["completions"]]
        for key, row in read_generations(out).items()
        if key in stops
    }
