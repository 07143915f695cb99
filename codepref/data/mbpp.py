"""MBPP (974 problems with the standard splits), the two sanitized MBPPs and MBPP+.

The two sanitized MBPPs are different benchmarks with different names: `mbpp-sanitized` is CodeT's
427-problem release (HumanEval-style prompts and `check` functions; a local file only), and
`mbpp-sanitized-google` is Google's sanitized MBPP as published on the hub (task sentences and asserts).
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from codepref.data.files import (
    field_of,
    load_hub_records,
    read_json_list,
    read_jsonl,
    resolve_data_file,
)
from codepref.data.humaneval import argument_lists, check_unique, humaneval_problem
from codepref.tasks.problem import DataFileError, Problem
from codepref.tasks.prompts import mbpp_docstring_prompt

MBPP_FILE = "mbpp.jsonl"
MBPP_SANITIZED_FILE = "codet_mbpp_sanitized_for_code_generation.jsonl"
MBPP_PLUS_FILE = "MbppPlus-v0.1.0.json"
MBPP_HUB = "google-research-datasets/mbpp"
MBPP_PLUS_HUB = "evalplus/mbppplus"
MBPP_SANITIZED_GOOGLE_FILE = "sanitized-mbpp.json"

# The standard MBPP splits are task-id ranges (Austin et al., 2021).
MBPP_SPLITS = {
    "prompt": range(1, 11),
    "test": range(11, 511),
    "validation": range(511, 601),
    "train": range(601, 975),
}

Records = Iterator[tuple[int, dict[str, Any]]]


def mbpp_task_id(number: int) -> str:
    return f"Mbpp/{number}"


def mbpp_prompt(description: str, tests: list[str]) -> str:
    """The MBPP paper's zero-shot prompt: the task sentence and the tests the code must pass."""
    joined = "\n".join(tests)
    return f"You are an expert Python programmer, and here is your task: {description} Your code should pass these tests:\n\n{joined}\n"


def load_mbpp(
    data_dir: str | Path | None = None, split: str | None = None, path: str | Path | None = None
) -> list[Problem]:
    """MBPP problems, all 974 or one split ('train', 'validation', 'test', 'prompt'); completions are whole programs."""
    if split is not None and split not in MBPP_SPLITS:
        raise DataFileError(f"unknown MBPP split '{split}' (choose from {', '.join(MBPP_SPLITS)})")
    local = resolve_data_file(MBPP_FILE, path=path, data_dir=data_dir)
    source = str(local) if local else MBPP_HUB
    records = read_jsonl(local) if local else mbpp_hub_records(split)
    problems = []
    for line, record in records:
        where = f"{source}:{line}"
        number = field_of(record, "task_id", int, where)
        if split is not None and number not in MBPP_SPLITS[split]:
            continue
        tests = string_list(record, "test_list", where)
        code = unix_newlines(field_of(record, "code", str, where))
        description = field_of(record, "text", str, where)
        problems.append(
            Problem(
                task_id=mbpp_task_id(number),
                benchmark="mbpp",
                prompt=mbpp_prompt(description, tests),
                entry_point=called_function(tests, code, where),
                canonical_solution=code,
                test_list=tuple(tests),
                test_setup_code=unix_newlines(str(record.get("test_setup_code") or "")),
                completion_extends_prompt=False,
                description=description,
                source=source,
            )
        )
    return check_unique(problems, source)


def mbpp_hub_records(split: str | None) -> Records:
    splits = [split] if split else list(MBPP_SPLITS)
    for name in splits:
        yield from load_hub_records(MBPP_HUB, name, config="full")


def load_mbpp_sanitized(data_dir: str | Path | None = None, path: str | Path | None = None) -> list[Problem]:
    """CodeT's sanitized MBPP: HumanEval-style prompts (signature + docstring) and `check` functions."""
    local = resolve_data_file(MBPP_SANITIZED_FILE, path=path, data_dir=data_dir)
    if local is None:
        raise DataFileError(
            f"CodeT's sanitized MBPP ({MBPP_SANITIZED_FILE}) has no hub copy: pass --data-dir or set "
            "$CODEPREF_DATA_DIR to a folder holding it (Google's sanitized MBPP is mbpp-sanitized-google)"
        )
    problems = []
    for line, record in read_jsonl(local):
        problem = humaneval_problem(record, f"{local}:{line}", "mbpp-sanitized", str(local))
        reference = reindent_body(problem.prompt, problem.canonical_solution)
        problems.append(dataclasses.replace(problem, canonical_solution=reference))
    return check_unique(problems, str(local))


def body_indent(prompt: str) -> str:
    """The indentation of the last non-blank prompt line (the docstring's), which a completion must continue."""
    lines = [line for line in prompt.splitlines() if line.strip()]
    return lines[-1][: len(lines[-1]) - len(lines[-1].lstrip())] if lines else "    "


def reindent_body(prompt: str, body: str) -> str:
    """CodeT's sanitized MBPP keeps Google's reference bodies as written (2-space or tab indented) under
    4-space docstrings, so prompt + canonical_solution does not even compile for about half the tasks.
    Where it does not, the body re-indented to the docstring's level (tabs expanded as Python reads them)
    is used instead, if that compiles; otherwise the body is kept and the defect shows when it is run."""
    if compiles(prompt + body):
        return body
    fixed = textwrap.indent(textwrap.dedent(body.expandtabs(8)), body_indent(prompt))
    return fixed if compiles(prompt + fixed) else body


def compiles(source: str) -> bool:
    try:
        with warnings.catch_warnings():  # old references use invalid escapes like '\w'; not our concern here
            warnings.simplefilter("ignore")
            compile(source, "<reference>", "exec")  # compiles only, never runs: the text is data here
    except (SyntaxError, ValueError):
        return False
    return True


def load_mbpp_sanitized_google(
    data_dir: str | Path | None = None, path: str | Path | None = None
) -> list[Problem]:
    """Google's sanitized MBPP (google-research's sanitized-mbpp.json, or the hub's "sanitized" config). It has
    no HumanEval-style prompts, so completions are whole programs."""
    local = resolve_data_file(MBPP_SANITIZED_GOOGLE_FILE, path=path, data_dir=data_dir)
    if local is not None:
        records = read_json_list(local) if starts_with_list(local) else read_jsonl(local)
        return sanitized_google_problems(records, str(local))
    hub = (
        (f"{name}[{index}]", record)
        for name in MBPP_SPLITS
        for index, record in load_hub_records(MBPP_HUB, name, config="sanitized")
    )
    return sanitized_google_problems(hub, f"{MBPP_HUB}/sanitized")


def sanitized_google_problems(records: Iterator[tuple[Any, dict[str, Any]]], source: str) -> list[Problem]:
    problems = []
    for position, record in records:
        where = f"{source}:{position}"
        tests = string_list(record, "test_list", where)
        description = field_of(record, "prompt", str, where)
        code = field_of(record, "code", str, where)
        problems.append(
            Problem(
                task_id=f"MbppSanitized/{field_of(record, 'task_id', int, where)}",
                benchmark="mbpp-sanitized-google",
                prompt=mbpp_prompt(description, tests),
                entry_point=called_function(tests, code, where),
                canonical_solution=code,
                test_list=tuple(tests),
                test_setup_code="\n".join(string_list(record, "test_imports", where)),
                completion_extends_prompt=False,
                description=description,
                source=source,
            )
        )
    return check_unique(problems, source)


def load_mbpp_plus(data_dir: str | Path | None = None, path: str | Path | None = None) -> list[Problem]:
    """MBPP+ (evalplus): MBPP prompts as docstrings, differential tests on base and plus inputs."""
    local = resolve_data_file(MBPP_PLUS_FILE, path=path, data_dir=data_dir)
    if local is None:
        return mbpp_plus_from_hub(load_hub_records(MBPP_PLUS_HUB, "test"), MBPP_PLUS_HUB)
    # The release is JSON lines; the copy we ship against is one JSON list. Accept both.
    source = str(local)
    records = read_json_list(local) if starts_with_list(local) else read_jsonl(local)
    problems = []
    for line, record in records:
        where = f"{source}:{line}"
        fields = {
            name: field_of(record, name, str, where)
            for name in ("task_id", "prompt", "canonical_solution", "entry_point")
        }
        number = task_number(fields["task_id"], where)
        assertion = str(record.get("assertion") or "")
        problems.append(
            Problem(
                task_id=fields["task_id"],
                benchmark="mbpp+",
                prompt=fields["prompt"],
                entry_point=fields["entry_point"],
                canonical_solution=fields["canonical_solution"],
                test_list=tuple(line for line in assertion.splitlines() if line.strip()),
                base_inputs=deserialize_mbpp_plus_inputs(number, argument_lists(record, "base_input", where)),
                plus_inputs=deserialize_mbpp_plus_inputs(number, argument_lists(record, "plus_input", where)),
                atol=float(field_of(record, "atol", (int, float), where)),
                source=source,
            )
        )
    return check_unique(problems, source)


def mbpp_plus_from_hub(records: Records, source: str) -> list[Problem]:
    """The hub's evalplus/mbppplus rows: task_id (a number), code, prompt (the task sentence), source_file,
    test_imports, test_list and `test`, code that holds the base and plus inputs with their expected results
    and checks the function on each (no input columns). The prompt is rebuilt in the release's docstring
    format, so the program is prompt + completion as for the release file."""
    problems = []
    for index, record in records:
        where = f"{source}[{index}]"
        number = field_of(record, "task_id", int, where)
        tests = string_list(record, "test_list", where)
        code = field_of(record, "code", str, where)
        imports = "\n".join(string_list(record, "test_imports", where))
        check = field_of(record, "test", str, where)
        problems.append(
            Problem(
                task_id=mbpp_task_id(number),
                benchmark="mbpp+",
                prompt=mbpp_docstring_prompt(
                    field_of(record, "prompt", str, where), tests[0] if tests else ""
                ),
                entry_point=called_function(tests, code, where),
                canonical_solution=code,
                test_list=(f"{imports}\n{check}" if imports else check,),
                source=source,
            )
        )
    return check_unique(problems, source)


def starts_with_list(path: Path) -> bool:
    with open(path, encoding="utf-8") as handle:
        return handle.read(64).lstrip().startswith("[")


def task_number(task_id: str, where: str) -> int:
    match = re.fullmatch(r"Mbpp/(\d+)", task_id)
    if not match:
        raise DataFileError(f"{where}: field 'task_id' should look like 'Mbpp/<number>', got {task_id!r}")
    return int(match.group(1))


def string_list(record: dict[str, Any], name: str, where: str) -> list[str]:
    values = field_of(record, name, list, where)
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise DataFileError(f"{where}: field '{name}'[{index}] should be str, got {type(value).__name__}")
    return values


def unix_newlines(text: str) -> str:
    return text.replace("\r\n", "\n")


def called_function(tests: list[str], code: str, where: str) -> str:
    """The function MBPP's asserts call: the first name called in the first assert that the code defines."""
    defined = set(re.findall(r"^\s*def\s+(\w+)\s*\(", code, re.M))
    for test in tests:
        for name in re.findall(r"(\w+)\s*\(", test):
            if name in defined:
                return name
    if defined:  # asserts that call through a class or lambda; the last def is the best guess
        return re.findall(r"^\s*def\s+(\w+)\s*\(", code, re.M)[-1]
    raise DataFileError(f"{where}: cannot tell which function field 'test_list' calls")


# ---- MBPP+ input deserialization -------------------------------------------------------------------
# JSON has no tuples, sets or complex numbers, so the MBPP+ release stores them as lists and strings;
# evalplus rebuilds them per task before calling the function. Same task ids and conversions here.


def _tuples(values: list[Any]) -> list[tuple]:
    return [tuple(value) for value in values]


def _all_tuples(value: Any) -> Any:
    return tuple(_all_tuples(item) for item in value) if isinstance(value, list) else value


def _set_or_empty_dict(item: Any) -> Any:
    if isinstance(item, list):
        return set(item) if item else {}
    return item


ArgumentsFix = Callable[[list[Any]], Any]

_EVERY_ARGUMENT_TUPLE: ArgumentsFix = _tuples
_EVERY_ARGUMENT_LIST_OF_TUPLES: ArgumentsFix = lambda args: [_tuples(arg) for arg in args]  # noqa: E731
_FIRST_ARGUMENT_TUPLE: ArgumentsFix = lambda args: [tuple(args[0]), *args[1:]]  # noqa: E731

MBPP_PLUS_INPUT_FIXES: dict[int, ArgumentsFix] = {
    **dict.fromkeys(
        (
            2,
            116,
            132,
            143,
            222,
            261,
            273,
            394,
            399,
            421,
            424,
            429,
            470,
            560,
            579,
            596,
            616,
            630,
            726,
            740,
            744,
            809,
        ),
        _EVERY_ARGUMENT_TUPLE,
    ),
    **dict.fromkeys(
        (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780),
        _EVERY_ARGUMENT_LIST_OF_TUPLES,
    ),
    **dict.fromkeys((75, 413, 444, 753), lambda args: [_tuples(args[0]), args[1]]),
    **dict.fromkeys((106, 750), lambda args: [args[0], tuple(args[1])]),
    115: lambda args: [[_set_or_empty_dict(item) for item in args[0]]],
    124: lambda args: (float(args[0]), complex(args[1])),
    **dict.fromkeys((250, 405, 446, 617, 720, 763, 808), lambda args: [tuple(args[0]), args[1]]),
    **dict.fromkeys((259, 401, 445), lambda args: [tuple(_tuples(arg)) for arg in args]),
    278: lambda args: [tuple(tuple(item) if isinstance(item, list) else item for item in args[0])],
    307: _FIRST_ARGUMENT_TUPLE,
    722: lambda args: [{key: tuple(value) for key, value in args[0].items()}, *args[1:]],
    252: lambda args: [complex(args[0])],
    **dict.fromkeys((580, 615, 791), _all_tuples),
}


def deserialize_mbpp_plus_inputs(task_number: int, inputs: list[list[Any]]) -> list[Any]:
    fix = MBPP_PLUS_INPUT_FIXES.get(task_number)
    return [fix(arguments) for arguments in inputs] if fix else inputs
