"""Split tests: the job computes values, this process (the host) judges them.

Each test is rewritten before the job is sent (`split_test`). Its line endings are normalised and its
comments cut (codepref.sandbox.source); then each `assert` of a shape the host can judge
(codepref.sandbox.shapes: `==`/`!=`, comparison chains with one computed operand, `is None/True/False`,
`abs(E - Y) < EPS`, `math.isclose`, truthiness, `A and B and ...`, and literal loops, codepref.sandbox.loops)
is replaced by calls `__codepref_value__(slot, (EXPR))` that report EXPR's value as plain data (None, bool,
int, float, complex, str, bytes, and tuples, lists, dicts, sets and frozensets of these, exact types only;
numpy scalars count as their `.item()`, collections.Counter, OrderedDict and defaultdict as dicts and
namedtuples as tuples, their data read with dict's and tuple's own methods). The constants a check compares
with (the expected side, bounds, tolerances), literal or folded from a constant expression
(codepref.sandbox.fold), stay here and never enter the job's process; an expected side the host cannot fold
is computed by the job and reported too (`__codepref_value__(slot, (EXPR), (EXPECTED))`). The assert's
message never travels. `judge_test` then decides each test here with Python's own operators on plain
values: an object whose `__eq__` always says True, a subclass of int, str or list, or a `__bool__` trick is
not plain data and fails, and no record the job can write makes a wrong value right, because the job never
learns what the right value is.

Which checks must be reported: those in straight-line position (the test's top level, or the top level of
a `check` function the test calls once, as HumanEval's tests do, and every iteration of a literal loop
there) must each be reported at least once, so a job that skips them (a forged record, a trace function
jumping over lines) fails. Checks inside other loops, branches or functions are judged whenever they
report. Asserts inside `try` or `with` statements are left as written (a handler or context manager may
expect them to raise), as are statements of every other shape.
"""

from __future__ import annotations

import ast
import tokenize
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Protocol

from codepref.sandbox.flow import guarded_asserts, loop_escapes, straight_line_bodies
from codepref.sandbox.fold import NotConstant, fold, value_key
from codepref.sandbox.loops import LiteralLoop, literal_loop
from codepref.sandbox.shapes import Part, Relation, parts_of, short_repr
from codepref.sandbox.source import Source, normalise, strip_comments

REPORTER = "__codepref_value__"  # the name the sandbox runner binds in the job's namespace


@dataclass(frozen=True)
class Check:
    """One split check: how the host judges the value the job reports for it.

    Without a relation it is `==` (or `!=`) against `expected`; with one, `relation.holds(value, constants)`,
    the constants being `expected` (a tuple). When not `literal`, the job reports the expected side (or the
    constants' tuple) too. Checks that share a report slot (a literal loop's iterations) name it in `slot`
    and take the slot's reports in turn; others answer the slot of their own index.
    """

    equal: bool  # `==` (else `!=`); only without a relation
    literal: bool  # the expected side is here, in `expected`; else the job reports it
    expected: Any
    required: bool  # straight-line: a pass needs at least one report of it
    where: str  # names the check in failure messages: "line 3", "plus input 12"
    relation: Relation | None = None
    slot: int | None = None

    def held(self) -> tuple:
        """The values the host keeps for this check and the job never sees."""
        if not self.literal:
            return ()
        return tuple(self.expected) if self.relation is not None else (self.expected,)


class Comparison(Protocol):
    """Whether a reported value is right for its check; called in report order (so it may keep state)."""

    def __call__(self, slot: int, check: Check, value: Any, expected: Any) -> bool: ...


@dataclass(frozen=True)
class SplitTest:
    """A test split in two: `job_text` runs in the job, `checks` are judged here.

    `split_test` builds one from any test text; callers with checks of their own (the plus variants'
    differential checks) build one and pass it as a test of their `Job`, with the `comparison` their
    benchmark uses (a picklable factory called once per judged result, for comparisons that keep state
    across a test's checks); without one, values compare with Python's operators. `exposed` holds the keys
    (`value_key`) of the constants the job text carries outside the expressions it reports on; a builder
    whose text carries none leaves it empty.
    """

    job_text: str  # what the job runs: the test with each check replaced by a report call
    checks: tuple[Check, ...]
    comparison: Callable[[], Comparison] | None = None
    exposed: frozenset = frozenset()


@dataclass(frozen=True)
class ValueReport:
    """A test whose reported values come back undecided (`TestResult.values`, in the runner's tagged JSON;
    `decode_value` reads them): for values the host keeps, such as a canonical solution's outputs."""

    job_text: str


@lru_cache(maxsize=1 << 16)
def split_test(text: str, revealed: frozenset = frozenset()) -> SplitTest:
    """The job-side form of one test snippet and the checks judged here; never raises.

    `revealed` holds keys (`value_key`) of values the job's text carries anyway (another statement of the
    job repeats them): a check comparing with one of those is not hidden, the job computes and reports its
    constants. A test that does not compile here is not sent: the job raises the SyntaxError instead; nor
    is a test naming the reporter.
    """
    text = normalise(text)
    if REPORTER in text:
        return SplitTest(_raising("NameError", f"a test may not name {REPORTER}"), ())
    try:
        text = strip_comments(text)
        tree = ast.parse(text)
        source = Source(text)
    except (SyntaxError, ValueError, tokenize.TokenError, RecursionError, MemoryError) as exc:
        return SplitTest(_raising("SyntaxError", _syntax_message(exc)), ())
    try:
        return _Builder(tree, source, revealed).build()
    except RecursionError:
        return SplitTest(_raising("RecursionError", "the test nests too deeply to be split"), ())


def _raising(kind: str, message: str) -> str:
    return f"raise {kind}({message!r})\n"


def _syntax_message(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return exc.msg if exc.lineno is None else f"{exc.msg} (line {exc.lineno})"
    if isinstance(exc, tokenize.TokenError):
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


class _Builder:
    """Collects one test's checks, the text replacing each split node, and what reaches the job as written."""

    def __init__(self, tree: ast.Module, source: Source, revealed: frozenset) -> None:
        self.tree, self.source, self.revealed = tree, source, revealed
        self.checks: list[Check] = []
        self.replacements: list[tuple[int, int, str]] = []
        self.replaced: set[int] = set()  # ids of nodes whose text the job does not receive
        self.reaching: list[ast.AST] = []  # parts of replaced nodes that the job receives as written
        self.names: dict[str, list[ast.Name]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                self.names.setdefault(node.id, []).append(node)

    def build(self) -> SplitTest:
        bodies = straight_line_bodies(self.tree)
        for statement in (statement for body in bodies for statement in body):
            if isinstance(statement, ast.For):
                self._for_loop(statement)
            elif isinstance(statement, ast.Assert):
                self._all_loop(statement)
        required = {id(statement) for body in bodies for statement in body}
        guarded = guarded_asserts(self.tree)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assert) and id(node) not in self.replaced | guarded:
                self._assert(node, id(node) in required)
        job_text = self.source.replaced(self.replacements) if self.replacements else self.source.data.decode()
        return SplitTest(job_text, tuple(self.checks), exposed=frozenset(self._exposed()))

    # -------------------------------------------------------------- asserts

    def _assert(self, node: ast.Assert, required: bool) -> None:
        constant, value = self._constant({})(node.test)
        if constant:  # decided here: `assert True, "message"` does nothing, `assert False` raises
            self._replace(node, "(None)" if value else "raise AssertionError()")
            return
        parts = parts_of(node.test, self._constant({}))
        if any(isinstance(part, Part) for part in parts):
            statements = self._statements(node, parts, lambda p, where: self._once(parts[p], required, where))
            self._replace(node, "; ".join(statements))

    def _statements(self, node: ast.Assert, parts: list, call: Callable[[int, str], str]) -> list[str]:
        """What replaces an assert: per part, a report call (`call(index, where)`) or an assert of its own."""
        statements = []
        for index, part in enumerate(parts):
            if isinstance(part, Part):
                where = f"line {node.lineno}" + (f", part {index + 1}" if len(parts) > 1 else "")
                statements += [*part.probes, call(index, where)]
            else:
                statements.append(f"assert ({self.source.segment(part)})")
                self.reaching.append(part)
        return statements

    def _once(self, part: Part, required: bool, where: str) -> str:
        slot = len(self.checks)
        check, expected_text = self._check(part, required, where)
        self.checks.append(check)
        return self._call(slot, part, expected_text)

    def _check(self, part: Part, required: bool, where: str) -> tuple[Check, str | None]:
        """The check of one part, and the text of the expected side the job reports (None: held here)."""
        if part.expected_node is not None:
            return Check(part.equal, False, None, required, where), self.source.segment(part.expected_node)
        if not self._hides(part.values):
            self.reaching.extend(part.constants)
            texts = [self.source.segment(constant) for constant in part.constants]
            if part.relation is None:
                return Check(part.equal, False, None, required, where), texts[0]
            expected_text = "(" + ", ".join(f"({t})" for t in texts) + ",)" if texts else "()"
            return Check(True, False, None, required, where, part.relation), expected_text
        if part.relation is None:
            return Check(part.equal, True, part.values[0], required, where), None
        return Check(True, True, part.values, required, where, part.relation), None

    def _call(self, slot: int, part: Part, expected_text: str | None) -> str:
        arguments = [self.source.segment(part.computed)] + (
            [expected_text] if expected_text is not None else []
        )
        return f"{REPORTER}({slot}, " + ", ".join(f"({argument})" for argument in arguments) + ")"

    # -------------------------------------------------------------- literal loops

    def _for_loop(self, loop: ast.For) -> None:
        asserts = [statement for statement in loop.body if isinstance(statement, ast.Assert)]
        if not asserts or loop_escapes(loop):
            return
        split = literal_loop(loop.target, loop.iter, [a.test for a in asserts], self._uses, self._constant)
        if split is None or not self._hides(_loop_values(split)):
            return
        for index, node in enumerate(asserts):
            parts = split.parts[index][0]
            self._replace(
                node, "; ".join(self._statements(node, parts, partial(self._loop_call, split, index)))
            )
        self._replace(loop.target, split.target_text())
        self._replace(loop.iter, split.rows_text(self.source.segment))

    def _all_loop(self, node: ast.Assert) -> None:
        """`assert all(CHECK for TARGET in LITERAL)` becomes a list of report calls over the kept inputs."""
        call = node.test
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "all"
            and len(call.args) == 1
            and not call.keywords
            and isinstance(call.args[0], (ast.GeneratorExp, ast.ListComp))
        ):
            return
        comprehension = call.args[0]
        generator = comprehension.generators[0]
        if len(comprehension.generators) != 1 or generator.ifs or generator.is_async:
            return
        scope = [comprehension.elt, generator.target]
        local = {}
        for name in (n for root in scope for n in ast.walk(root) if isinstance(n, ast.Name)):
            local.setdefault(name.id, []).append(name)
        split = literal_loop(
            generator.target, generator.iter, [comprehension.elt], lambda n: local.get(n, []), self._constant
        )
        if split is None or not all(isinstance(p, Part) for p in split.parts[0][0]):
            return
        if not self._hides(_loop_values(split)):
            return
        items = ", ".join(self._statements(node, split.parts[0][0], partial(self._loop_call, split, 0)))
        rows = split.rows_text(self.source.segment)
        self._replace(node, f"[({items},) for {split.target_text()} in {rows}]")

    def _loop_call(self, split: LiteralLoop, index: int, p: int, where: str) -> str:
        """One check per iteration for part `p` of assert `index`, all answering one slot, in order."""
        slot = len(self.checks)
        for iteration, parts in enumerate(split.parts[index]):
            check, _ = self._check(parts[p], True, f"{where}, iteration {iteration + 1}")
            self.checks.append(
                Check(check.equal, check.literal, check.expected, True, check.where, check.relation, slot)
            )
        first = split.parts[index][0][p]
        expected_text = self.source.segment(first.expected_node) if first.expected_node is not None else None
        return self._call(slot, first, expected_text)

    # -------------------------------------------------------------- helpers

    def _constant(self, names: dict[str, Any]) -> Callable[[ast.expr], tuple[bool, Any]]:
        def constant(node: ast.expr) -> tuple[bool, Any]:
            try:
                return True, fold(node, names)
            except NotConstant:
                return False, None

        return constant

    def _uses(self, name: str) -> list[ast.Name]:
        return self.names.get(name, [])

    def _hides(self, values: Iterable[Any]) -> bool:
        """Whether checks comparing with `values` may keep them here: none is revealed by the job's text."""
        return not any(value_key(value) in self.revealed for value in values)

    def _replace(self, node: ast.AST, text: str) -> None:
        self.replacements.append((*self.source.span(node), text))
        self.replaced.add(id(node))

    def _exposed(self) -> set[Hashable]:
        """Keys of every constant the job text carries outside the expressions it reports on."""
        keys = set()
        pending: list[ast.AST] = [self.tree, *self.reaching]
        while pending:
            node = pending.pop()
            if id(node) in self.replaced:
                continue
            try:
                keys.add(value_key(fold(node)))
            except NotConstant:
                pass
            pending.extend(ast.iter_child_nodes(node))
        return keys


def _loop_values(split: LiteralLoop) -> list[Any]:
    """Every constant the loop's checks would keep here, over all iterations."""
    return [
        value
        for per_iteration in split.parts
        for parts in per_iteration
        for part in parts
        if isinstance(part, Part)
        for value in part.values
    ]


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
    holds = split.comparison() if split.comparison is not None else _python_comparison
    by_slot: dict[int, list[int]] = {}
    for index, check in enumerate(split.checks):
        by_slot.setdefault(index if check.slot is None else check.slot, []).append(index)
    made = dict.fromkeys(by_slot, 0)
    reported = set()
    for report in result.get("values", ()):
        slot = report.get("slot")
        if type(slot) is not int or slot not in by_slot:
            return "failed", "AssertionError: a report for a check this test does not have"
        index = by_slot[slot][made[slot] % len(by_slot[slot])]
        made[slot] += 1
        check = split.checks[index]
        if "unplain" in report:
            return (
                "failed",
                f"AssertionError: {check.where}: the value is not plain data ({report['unplain']})",
            )
        try:
            value = decode_value(report.get("value"))
            expected = check.expected if check.literal else decode_value(report.get("expected"))
            if check.relation is not None and (
                type(expected) is not tuple or len(expected) != check.relation.arity
            ):
                raise MalformedValue("constants of the wrong shape")
        except (MalformedValue, ValueError, TypeError, RecursionError) as exc:
            return "failed", f"AssertionError: {check.where}: unreadable value ({exc})"
        if not holds(index, check, value, expected):
            return "failed", f"AssertionError: {check.where}: {_failure(check, value, expected)}"
        reported.add(index)
    if result["status"] != "passed":
        return result["status"], result.get("error", "")
    for index, check in enumerate(split.checks):
        if check.required and index not in reported:
            return "failed", f"AssertionError: {check.where}: the check was never reached"
    return "passed", ""


def _python_comparison(slot: int, check: Check, value: Any, expected: Any) -> bool:
    if check.relation is not None:
        return check.relation.holds(value, expected)
    try:
        equal = bool(value == expected)
    except RecursionError:
        return False
    return equal if check.equal else not equal


def _failure(check: Check, value: Any, expected: Any) -> str:
    if check.relation is not None:
        return f"expected {check.relation.describe(expected)}, got {short_repr(value)}"
    relation = "expected" if check.equal else "expected anything but"
    return f"{relation} {short_repr(expected)}, got {short_repr(value)}"
