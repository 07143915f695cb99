"""The assert shapes a split test judges on the host, and the relations the host checks on a reported value.

`parts_of` reads one assert's test: `A and B and ...` gives one part per operand, in order; each part names
the expression the job computes and reports (`Part.computed`) and how the host judges its value against
the constants it keeps (`Part.constants`): `==`/`!=` (no relation, as split tests always had), a
comparison chain with one computed operand (`0 < f(x) <= 9`, `f(x) in (1, 2)`, `f(x) is None`), possibly
through a distance (`abs(f(x) - 1.5) < 1e-6`, `math.fabs(...)`), `math.isclose(f(x), 1.5, ...)`, or the
truthiness of a value (`assert f(x)`, `assert not f(x)`). An operand of no such shape (`a or b`, a chain
with two computed operands) is kept: the job runs it as an `assert` of its own, which is what it was, since
`assert A and B` fails exactly when the first false operand's own assert would.

A relation is judged on plain values only, with Python's own operators; where Python would raise (a str
less than an int) the check fails, as the assert would have.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DESCRIBE_CHARS = 120

OPERATORS: dict[type, str] = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}  # fmt: skip


def _identical(left: Any, right: Any) -> bool:
    """`is` against None, True or False: the same value of the same type (True is the bool True, not 1)."""
    return type(left) is type(right) and left == right


_APPLY: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
    "is": _identical, "is not": lambda a, b: not _identical(a, b),
}  # fmt: skip

SINGLETONS = (
    None,
    True,
    False,
)  # the only constants `is` is split against: identity of others is CPython's whim


@dataclass(frozen=True)
class Chain:
    """`c0 op0 c1 op1 ... cn`: a comparison chain whose operand at `at` is the reported value (first passed
    through `distance`, `abs` or `fabs` of value - Y, or of Y - value when not `value_first`); every other
    operand is a constant, in order, then Y."""

    ops: tuple[str, ...]
    at: int
    distance: str | None = None
    value_first: bool = True
    negated: bool = False

    @property
    def arity(self) -> int:
        return len(self.ops) + (self.distance is not None)

    def holds(self, value: Any, constants: tuple) -> bool:
        def evaluate() -> bool:
            operands = list(constants[: len(self.ops)])
            operands.insert(self.at, self._through(value, constants))
            return all(_APPLY[op](a, b) for op, a, b in zip(self.ops, operands, operands[1:], strict=False))

        return _judged(evaluate, self.negated)

    def _through(self, value: Any, constants: tuple) -> Any:
        if self.distance is None:
            return value
        difference = value - constants[-1] if self.value_first else constants[-1] - value
        return abs(difference) if self.distance == "abs" else math.fabs(difference)

    def describe(self, constants: tuple) -> str:
        operand = "value"
        if self.distance is not None:
            y = short_repr(constants[-1])
            inner = f"value - {y}" if self.value_first else f"{y} - value"
            operand = f"{'abs' if self.distance == 'abs' else 'math.fabs'}({inner})"
        shown = [short_repr(constant) for constant in constants[: len(self.ops)]]
        shown.insert(self.at, operand)
        text = shown[0] + "".join(f" {op} {right}" for op, right in zip(self.ops, shown[1:], strict=True))
        return f"not ({text})" if self.negated else text


@dataclass(frozen=True)
class Close:
    """`math.isclose(value, Y, **keywords)` (or with Y first); constants: Y, then the keywords' values."""

    at: int
    keywords: tuple[str, ...] = ()
    negated: bool = False

    @property
    def arity(self) -> int:
        return 1 + len(self.keywords)

    def holds(self, value: Any, constants: tuple) -> bool:
        def evaluate() -> bool:
            pair = [constants[0]]
            pair.insert(self.at, value)
            return math.isclose(*pair, **dict(zip(self.keywords, constants[1:], strict=True)))

        return _judged(evaluate, self.negated)

    def describe(self, constants: tuple) -> str:
        shown = [short_repr(constants[0])]
        shown.insert(self.at, "value")
        shown += [f"{name}={short_repr(c)}" for name, c in zip(self.keywords, constants[1:], strict=True)]
        text = f"math.isclose({', '.join(shown)})"
        return f"not {text}" if self.negated else text


@dataclass(frozen=True)
class Truth:
    """`assert value` (want True) or `assert not value`."""

    want: bool = True
    arity = 0

    def holds(self, value: Any, constants: tuple) -> bool:
        return _judged(lambda: bool(value), not self.want)

    def describe(self, constants: tuple) -> str:
        return "a true value" if self.want else "a false value"


Relation = Chain | Close | Truth


def _judged(evaluate: Callable[[], bool], negated: bool) -> bool:
    try:
        return evaluate() != negated
    except Exception:  # noqa: BLE001 - what would have raised in the job fails the check there too
        return False


def short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit
        text = f"<int of {value.bit_length()} bits>" if isinstance(value, int) else "<value>"
    return text if len(text) <= DESCRIBE_CHARS else text[: DESCRIBE_CHARS - 3] + "..."


# ------------------------------------------------------------------------------------------ recognising


@dataclass(frozen=True)
class Part:
    """One check of an assert: the expression the job reports, and how the host judges its value.

    `constants` are the nodes whose values the host keeps (`values`, folded): the expected side of `==`/`!=`,
    or the relation's constants in its order. With `expected_node` (`==`/`!=` between two computed sides)
    the job computes the expected side and reports it too. `probes` are names the job still evaluates, so
    that a test using `math` without importing it fails as it did.
    """

    computed: ast.expr
    constants: tuple[ast.expr, ...] = ()
    values: tuple[Any, ...] = ()
    relation: Relation | None = None
    equal: bool = True
    expected_node: ast.expr | None = None
    probes: tuple[str, ...] = ()


Constant = Callable[[ast.expr], tuple[bool, Any]]  # (is constant, its value) of a node


def parts_of(test: ast.expr, constant: Constant) -> list[Part | ast.expr]:
    """The checks of `assert test`, in order: a Part for each operand judged on the host, else the operand."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [part for operand in test.values for part in parts_of(operand, constant)]
    part = _part(test, constant, negated=False)
    return [test if part is None else part]


def _part(node: ast.expr, constant: Constant, negated: bool) -> Part | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _part(node.operand, constant, not negated)
    if isinstance(node, ast.Compare):
        return _compare(node, constant, negated)
    if _is_math_call(node, "isclose"):
        return _close(node, constant, negated)
    if isinstance(node, ast.BoolOp) or constant(node)[0]:
        return None  # `or` is judged in the job; a constant assert has nothing to report
    return Part(node, relation=Truth(want=not negated))


def _compare(node: ast.Compare, constant: Constant, negated: bool) -> Part | None:
    operands = [node.left, *node.comparators]
    ops = tuple(OPERATORS[type(op)] for op in node.ops)
    folded = [constant(operand) for operand in operands]
    computed = [index for index, (is_constant, _) in enumerate(folded) if not is_constant]
    if len(computed) == 2 and ops in (("==",), ("!=",)):
        return Part(node.left, equal=(ops[0] == "==") != negated, expected_node=node.comparators[0])
    if len(computed) != 1:
        return None
    at = computed[0]
    for index, op in enumerate(ops):
        sides = (index, index + 1)
        if op in ("is", "is not") and any(s != at and not _singleton(folded[s][1]) for s in sides):
            return None
    constants = tuple(operand for index, operand in enumerate(operands) if index != at)
    distance = _distance(operands[at], constant)
    if distance is None and ops in (("==",), ("!=",)):
        value = folded[1 - at][1]
        return Part(operands[at], constants, (value,), equal=(ops[0] == "==") != negated)
    computed_node, probes = operands[at], ()
    relation = Chain(ops, at, negated=negated)
    if distance is not None:
        computed_node, y, kind, value_first, probes = distance
        constants += (y,)
        relation = Chain(ops, at, kind, value_first, negated)
    values = tuple(constant(node)[1] for node in constants)
    return Part(computed_node, constants, values, relation, probes=probes)


def _singleton(value: Any) -> bool:
    return any(value is singleton for singleton in SINGLETONS)


def _distance(node: ast.expr, constant: Constant):
    """(computed, Y, "abs"/"fabs", value first, probes) for `abs(E - Y)`, `abs(Y - E)`, `math.fabs(...)`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs":
        kind, probes = "abs", ()
    elif _is_math_call(node, "fabs"):
        kind, probes = "fabs", ("math.fabs",)
    else:
        return None
    if len(node.args) != 1 or node.keywords:
        return None
    difference = node.args[0]
    if not isinstance(difference, ast.BinOp) or not isinstance(difference.op, ast.Sub):
        return None
    left, right = constant(difference.left)[0], constant(difference.right)[0]
    if left == right:
        return None
    if right:
        return difference.left, difference.right, kind, True, probes
    return difference.right, difference.left, kind, False, probes


def _close(node: ast.Call, constant: Constant, negated: bool) -> Part | None:
    if len(node.args) != 2 or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    keywords = tuple(k.arg for k in node.keywords)
    if any(name not in ("rel_tol", "abs_tol") for name in keywords) or len(set(keywords)) != len(keywords):
        return None
    if not all(constant(k.value)[0] for k in node.keywords):
        return None
    first, second = (constant(argument)[0] for argument in node.args)
    if first == second:
        return None
    at = 1 if first else 0
    constants = (node.args[1 - at], *(k.value for k in node.keywords))
    values = tuple(constant(c)[1] for c in constants)
    relation = Close(at, keywords, negated)
    return Part(node.args[at], constants, values, relation, probes=("math.isclose",))


def _is_math_call(node: ast.expr, name: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "math"
    )
