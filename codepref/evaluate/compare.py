"""The plus variants' differential checks, the host's half: outputs compared with the expected ones here.

The job only calls the entry point on each input and reports the output as plain data
(codepref.evaluate.differential, codepref.sandbox.split); `DifferentialComparison` judges each report the
way evalplus does (evalplus/eval/__init__.py, `unsafe_execute`):
  * outputs must be equal (`==`), except where a task-specific oracle says otherwise;
  * when they are not equal and a tolerance applies, they must have the same type, the same length (for
    lists and tuples) and be element-wise close: |out - exp| <= atol + 1e-7 * |exp| (numpy's allclose);
  * a float (or non-empty all-float list/tuple) expected value raises a zero tolerance to 1e-6, and, as in
    evalplus, that raised tolerance then stays in force for the remaining inputs of the same check.
Checks whose outputs are too big to report compare digests (`differential.equality_digest`) for equality.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from codepref.evaluate.differential import MBPP_NOT_NONE_TASKS, is_floats
from codepref.sandbox.split import Check

# MBPP+ tasks whose outputs are compared as sets (evalplus _special_oracle).
MBPP_SET_EQUAL_TASKS = frozenset(
    [
        "similar_elements",
        "find_char_long",
        "common_in_nested_lists",
        "extract_singly",
        "larg_nnum",
        "intersection_array",
        "find_dissimilar",
        "Diff",
    ]
)
# Tasks judged by more than equality, which a digest cannot stand in for.
SPECIAL_ORACLE_TASKS = {
    "humaneval": frozenset(["find_zero"]),
    "mbpp": MBPP_SET_EQUAL_TASKS
    | MBPP_NOT_NONE_TASKS
    | {"are_equivalent", "sum_div", "surface_Area", "digit_distance_nums"},
}


def allclose(out, exp, atol, rtol=1e-7):
    """numpy.allclose(out, exp, rtol, atol) for numbers and equally shaped nested lists/tuples of numbers."""
    if isinstance(out, (list, tuple)) or isinstance(exp, (list, tuple)):
        if not (isinstance(out, (list, tuple)) and isinstance(exp, (list, tuple))) or len(out) != len(exp):
            return False
        return all(allclose(a, b, atol, rtol) for a, b in zip(out, exp, strict=True))
    if not (isinstance(out, numbers.Number) and isinstance(exp, numbers.Number)):
        return False
    if out == exp:  # covers equal infinities, which the formula below cannot
        return True
    if not (_finite(out) and _finite(exp)):
        return False
    return abs(out - exp) <= atol + rtol * abs(exp)


def _finite(number):
    if isinstance(number, complex):
        return math.isfinite(number.real) and math.isfinite(number.imag)
    return math.isfinite(number)


def poly(coefficients, x):
    return sum(coefficient * math.pow(x, power) for power, coefficient in enumerate(coefficients))


def surface_area_oracle(base_edge, height):
    """Mbpp/581 read with 'height' as the pyramid's perpendicular height."""
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 2 * base_edge * slant)


def digit_distance_oracle(first, second):
    """Mbpp/558 with the shorter number left-padded with zeros."""
    a, b = str(first), str(second)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width), strict=True))


class Comparator:
    """Judges one output against the expected one; holds evalplus's tolerance, which can only rise."""

    def __init__(self, entry_point, atol, flavour):
        self.entry_point, self.atol, self.flavour = entry_point, atol, flavour

    def matches(self, out, exp, arguments):
        if self.flavour == "humaneval" and self.entry_point == "find_zero":
            return abs(poly(*arguments, out)) <= self.atol  # any root is right, not only the canonical one
        exact = self.exact_match(out, exp, arguments)
        if self.atol == 0 and is_floats(exp):
            self.atol = 1e-6
        if exact or self.atol == 0:
            return exact
        if type(out) is not type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
        return allclose(out, exp, self.atol)

    def exact_match(self, out, exp, arguments):
        exact = bool(out == exp)
        if self.flavour != "mbpp":
            return exact
        name = self.entry_point
        if name == "are_equivalent":  # Mbpp/164: the task statement is ambiguous; any answer is accepted
            return True
        if name == "sum_div":  # Mbpp/295: 0 is accepted too
            return exact or out == 0
        if name == "surface_Area":
            return exact or abs(out - surface_area_oracle(*arguments)) <= self.atol
        if name == "digit_distance_nums":
            return exact or out == digit_distance_oracle(*arguments)
        if name in MBPP_SET_EQUAL_TASKS:
            return set(out) == set(exp)
        if name in MBPP_NOT_NONE_TASKS:
            return out == exp if isinstance(out, bool) else exp == (out is not None)
        return exact


@dataclass(frozen=True)
class DifferentialComparison:
    """The comparison of one differential check (base or plus inputs), as `SplitTest.comparison`: a fresh
    `Comparator` per judged result, so a raised tolerance never leaks from one sample to the next."""

    entry_point: str
    atol: float
    flavour: str
    inputs: tuple[Any, ...]  # the argument lists, by slot (some oracles look at the input)
    by_digest: bool = False  # outputs come as digests: equal digests, equal outputs

    def __call__(self):
        comparator = Comparator(self.entry_point, self.atol, self.flavour)

        def holds(slot: int, check: Check, value: Any, expected: Any) -> bool:
            if self.by_digest:
                return value == expected
            try:
                return comparator.matches(value, expected, self.inputs[slot])
            except Exception:  # a comparison that cannot even be made (a str minus a float) is a wrong output
                return False

        return holds
