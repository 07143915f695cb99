"""Split tests: the job computes values, this process (the host) compares them with the expected ones.

A test's `assert EXPR == EXPECTED` and `assert EXPR != EXPECTED` statements are rewritten before the job is
sent: the job runs `__codepref_value__(slot, EXPR)` instead, which reports EXPR's value as plain data (None,
bool, int, float, complex, str, bytes, and tuples, lists, dicts, sets and frozensets of these, exact types
only; numpy scalars count as their `.item()`, collections.Counter, OrderedDict and defaultdict as dicts and
namedtuples as tuples, their data read with dict's and tuple's own methods). When EXPECTED is a literal it stays here and never enters
the job's process; otherwise the job computes it too and reports both values. `judge_test` then decides
each test here, with Python's own `==` on plain values: an object whose `__eq__` always says True, a
subclass of int, str or list, or a `__bool__` trick is not plain data and fails, and no record the job
can write makes a wrong value right, because the job never learns what the right value is.

Which checks must be reported: those in straight-line position (the test's top level, or the top level of
a `check` function the test calls once, as HumanEval's tests do) must each be reported at least once, so
a job that skips them (a forged record, a trace function jumping over lines) fails. Checks inside loops,
branches or other functions are judged whenever they report. Statements of every other shape run in the
job as before.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

REPORTER = "__codepref_value__"  # the name the sandbox runner binds in the job's namespace
DESCRIBE_CHARS = 120


@dataclass(frozen=True)
class Check:
    """One split `assert`: how to compare, and with what (when the expected value is a literal)."""

    equal: bool  # `==` (else `!=`)
    literal: bool  # the expected value is here, in `expected`; else the job reports it
    expected: Any
    required: bool  # straight-line: a pass needs at least one report of it
    where: str  # names the check in failure messages: "line 3", "plus input 12"


class Comparison(Protocol):
    """Whether a reported value is right for its check; called in report order (so it may keep state)."""

    def __call__(self, slot: int, check: Check, value: Any, expected: Any) -> bool: ...


@dataclass(frozen=True)
class SplitTest:
    """A test split in two: `job_text` runs in the job, `checks` are judged here.

    Tests of the shape `assert EXPR == EXPECTED` are split by `split_test`; callers with checks of their own
    (the plus variants' differential checks) build one and pass it as a test of their `Job`, with the
    `comparison` their benchmark uses (a picklable factory called once per judged result, for comparisons
    that keep state across a test's checks); without one, values compare with Python's `==`/`!=`.
    """

    job_text: str  # what the job runs: the test with each check replaced by a report call
    checks: tuple[Check, ...]
    comparison: Callable[[], Comparison] | None = None


@dataclass(frozen=True)
class ValueReport:
    """A test whose reported values come back undecided (`TestResult.values`, in the runner's tagged JSON;
    `decode_value` reads them): for values the host keeps, such as a canonical solution's outputs."""

    job_text: str


@lru_cache(maxsize=1 << 16)
def split_test(text: str) -> SplitTest | None:
    """The split form of one test snippet; None when it has no `assert EXPR ==/!= EXPECTED` to split."""
    if REPORTER in text:
        return None  # a test that names the reporter itself is run as written, never split
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None  # run as given: the job reports the syntax error
    required = _straight_line_asserts(tree)
    source = text.encode()
    line_starts = _line_starts(source)
    replacements, checks = [], []
    for node in ast.walk(tree):
        split = _split_assert(node)
        if split is None:
            continue
        computed, expected_node, literal, value = split
        slot = len(checks)
        checks.append(
            Check(
                equal=isinstance(node.test.ops[0], ast.Eq),
                literal=literal,
                expected=value,
                required=id(node) in required,
                where=f"line {node.lineno}",
            )
        )
        arguments = [_segment(source, line_starts, computed)]
        if not literal:
            arguments.append(_segment(source, line_starts, expected_node))
        call = f"{REPORTER}({slot}, " + ", ".join(f"({argument})" for argument in arguments) + ")"
        replacements.append(
            (_offset(line_starts, node.lineno, node.col_offset), _end(line_starts, node), call)
        )
    if not checks:
        return None
    for start, end, call in sorted(replacements, reverse=True):
        source = source[:start] + call.encode() + source[end:]
    return SplitTest(source.decode(), tuple(checks))


def _split_assert(node: ast.AST):
    """(computed side, expected side, expected is literal, literal value) for a splittable assert, else None."""
    if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
        return None
    compare = node.test
    if len(compare.ops) != 1 or not isinstance(compare.ops[0], (ast.Eq, ast.NotEq)):
        return None
    left, right = compare.left, compare.comparators[0]
    right_literal, right_value = _literal(right)
    left_literal, left_value = _literal(left)
    if right_literal and left_literal:
        return None  # nothing the job computes: run as written
    if right_literal:
        return left, right, True, right_value
    if left_literal:
        return right, left, True, left_value
    return left, right, False, None


def _literal(node: ast.AST) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _straight_line_asserts(tree: ast.Module) -> set[int]:
    """ids of the asserts that run exactly once when the test runs to its end."""
    bodies = [tree.body]
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    calls = [
        statement.value.func.id
        for statement in tree.body
        if isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
    ]
    for name, function in functions.items():
        defined_once = sum(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body) == 1
        if isinstance(function, ast.FunctionDef) and defined_once and calls.count(name) == 1:
            bodies.append(function.body)
    return {id(statement) for body in bodies for statement in body if isinstance(statement, ast.Assert)}


def _line_starts(source: bytes) -> list[int]:
    starts = [0, 0]  # ast lines count from 1
    for index, byte in enumerate(source):
        if byte == 0x0A:
            starts.append(index + 1)
    return starts


def _offset(line_starts: list[int], line: int, column: int) -> int:
    return line_starts[line] + column  # ast columns are UTF-8 byte offsets, as is `source`


def _end(line_starts: list[int], node: ast.AST) -> int:
    return _offset(line_starts, node.end_lineno, node.end_col_offset)


def _segment(source: bytes, line_starts: list[int], node: ast.AST) -> str:
    start = _offset(line_starts, node.lineno, node.col_offset)
    return source[start : _end(line_starts, node)].decode()


# ------------------------------------------------------------------------------------------ judging


class MalformedValue(ValueError):
    pass


def decode_value(data: Any) -> Any:
    """A reported value back in its exact types (the runner's tagged JSON, sandbox/runner.py `_plain`)."""
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is float:
        return data
    if type(data) is list:
        return [decode_value(item) for item in data]
    if type(data) is not dict or len(data) != 1:
        raise MalformedValue("unknown value encoding")
    ((tag, inner),) = data.items()
    if tag == "t":
        return tuple(decode_value(item) for item in _items(inner))
    if tag in ("s", "z"):
        items = (decode_value(item) for item in _items(inner))
        return set(items) if tag == "s" else frozenset(items)
    if tag == "d":
        return {decode_value(_pair(pair)[0]): decode_value(_pair(pair)[1]) for pair in _items(inner)}
    if tag == "b" and type(inner) is str:
        return bytes.fromhex(inner)
    if tag == "c":
        real, imag = (_number(decode_value(part)) for part in _pair(inner))
        return complex(real, imag)
    if tag == "f" and inner in ("nan", "inf", "-inf"):
        return float(inner)
    if tag == "i" and type(inner) is str:
        return int(inner, 16)
    raise MalformedValue(f"unknown value tag {tag!r}")


def _items(inner: Any) -> list:
    if type(inner) is not list:
        raise MalformedValue("tagged value without items")
    return inner


def _pair(inner: Any) -> list:
    if type(inner) is not list or len(inner) != 2:
        raise MalformedValue("malformed pair")
    return inner


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise MalformedValue("complex part is not a number")
    return float(value)


def judge_test(split: SplitTest, result: dict) -> tuple[str, str]:
    """(status, error) of one split test from the runner's result for it (status, error, reported values).

    Reports are judged in the order they were made, as the asserts they replace would have run: the first
    wrong value fails the test, as the first failing assert would have. Then the job's own outcome (the
    test raised, timed out...) counts, then any required check that was never reported.
    """
    reported = set()
    holds = split.comparison() if split.comparison is not None else _python_comparison
    for report in result.get("values", ()):
        slot = report.get("slot")
        if type(slot) is not int or not 0 <= slot < len(split.checks):
            return "failed", "AssertionError: a report for a check this test does not have"
        check = split.checks[slot]
        if "unplain" in report:
            return (
                "failed",
                f"AssertionError: {check.where}: the value is not plain data ({report['unplain']})",
            )
        try:
            value = decode_value(report.get("value"))
            expected = check.expected if check.literal else decode_value(report.get("expected"))
        except (MalformedValue, ValueError, TypeError, RecursionError) as exc:
            return "failed", f"AssertionError: {check.where}: unreadable value ({exc})"
        if not holds(slot, check, value, expected):
            relation = "expected" if check.equal else "expected anything but"
            return (
                "failed",
                f"AssertionError: {check.where}: {relation} {_describe(expected)}, got {_describe(value)}",
            )
        reported.add(slot)
    if result["status"] != "passed":
        return result["status"], result.get("error", "")
    for slot, check in enumerate(split.checks):
        if check.required and slot not in reported:
            return "failed", f"AssertionError: {check.where}: the check was never reached"
    return "passed", ""


def _python_comparison(slot: int, check: Check, value: Any, expected: Any) -> bool:
    try:
        equal = bool(value == expected)
    except RecursionError:
        return False
    return equal if check.equal else not equal


def _describe(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit
        text = f"<int of {value.bit_length()} bits>" if isinstance(value, int) else "<value>"
    return text if len(text) <= DESCRIBE_CHARS else text[: DESCRIBE_CHARS - 3] + "..."
