"""The examples a prompt shows, as test snippets a matrix can hold beside the sampled tests.

Prompts of HumanEval and of the synth family show a few calls with their values as doctest lines (`>>> f(2)`
then `4`); MBPP-style prompts show an `assert f(2) == 4` line. These examples are public (the model saw
them), written by the problem's author rather than sampled, so they are almost always right, while the
model's own tests often are not. Weighted by `weight` (as if each had been sampled that many times), they
let the rankers trust a solution that agrees with the prompt over one that agrees only with sampled tests.
"""

from __future__ import annotations

import ast
import doctest
import re
from collections.abc import Sequence
from dataclasses import replace

from codepref.matrix.build import MatrixProblem
from codepref.matrix.extraction import compiles_as_test

# CodeT ranks with sampled tests alone: by default the prompt's examples stay out of the matrix.
DEFAULT_EXAMPLE_WEIGHT = 0
_ASSERT_LINE = re.compile(r"^\s*(assert .+)$", re.MULTILINE)


def prompt_example_tests(prompt: str, entry_point: str) -> list[str]:
    """The prompt's examples calling `entry_point`, as distinct `assert CALL == VALUE` snippets, in prompt
    order. A doctest example counts when it is not a `print` and its shown value is a Python literal (not a
    traceback); every snippet must compile as a sampled test must (`extraction.compiles_as_test`)."""
    if not entry_point.strip():
        return []
    tests: list[str] = []
    try:
        examples = doctest.DocTestParser().get_examples(prompt)
    except ValueError:  # lines that look like doctest but are malformed (inconsistent indentation)
        examples = []
    for example in examples:
        call = example.source.strip()
        # The last example's value runs on into the docstring's closing quotes: cut them off.
        value = re.split(r"\"\"\"|'''", example.want)[0].strip()
        # Printed output is text, not the value of the call.
        if entry_point in call and not call.startswith("print(") and value and _is_literal(value):
            tests.append(f"assert {call} == {value}")
    tests += [line.strip() for line in _ASSERT_LINE.findall(prompt) if entry_point in line]
    return [test for test in dict.fromkeys(tests) if compiles_as_test(test)]


def with_example_tests(problem: MatrixProblem, tests: Sequence[str], weight: int) -> MatrixProblem:
    """`problem` with `tests` added to its tests, each counted `weight` more times (a sampled test that is
    the same snippet keeps its own count too). A weight of 0 leaves the problem as it is."""
    if weight < 0:
        raise ValueError(f"example weight must be >= 0, got {weight}")
    if weight == 0 or not tests:
        return problem
    counts = dict(zip(problem.tests, problem.test_counts, strict=True))
    for test in tests:
        counts[test] = counts.get(test, 0) + weight
    return replace(problem, tests=list(counts), test_counts=list(counts.values()))


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True
