"""The examples a prompt shows, as test snippets a matrix can hold beside the sampled tests.

Prompts of HumanEval and of the synth family show a few calls with their values as doctest lines (`>>> f(2)`
then `4`); MBPP-style prompts show an `assert f(2) == 4` line. These examples are public (the model saw
them), written by the problem's author rather than sampled, so they are almost always right, while the
model's own tests often are not. Weighted by `weight` (as if each had been sampled that many times), they
let the rankers trust a solution that agrees with the prompt over one that agrees only with sampled tests.

Before a build, `with_example_tests` adds them to a problem's tests. A matrix already built from sampled
tests alone gains them without running those again: `examples_problem` is the matrix problem of only the
examples it lacks, and `join_examples` puts that problem's matrix beside it at a chosen weight.
"""

from __future__ import annotations

import ast
import doctest
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from codepref.matrix.build import MatrixProblem
from codepref.matrix.extraction import compiles_as_test
from codepref.matrix.format import ExecutionMatrix

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
    the same snippet keeps its own count too), and recorded in `example_counts` as the prompt's. A weight of
    0 leaves the problem as it is."""
    if weight < 0:
        raise ValueError(f"example weight must be >= 0, got {weight}")
    if weight == 0 or not tests:
        return problem
    counts = dict(zip(problem.tests, problem.test_counts, strict=True))
    examples = dict(zip(problem.tests, problem.example_counts, strict=True))
    for test in tests:
        counts[test] = counts.get(test, 0) + weight
        examples[test] = examples.get(test, 0) + weight
    return replace(
        problem,
        tests=list(counts),
        test_counts=list(counts.values()),
        example_counts=[examples[test] for test in counts],
    )


def examples_problem(problem: MatrixProblem) -> MatrixProblem:
    """The same solutions against the prompt's examples that `problem`'s tests do not already hold, each
    counted once (`join_examples` weighs them)."""
    tests = [t for t in prompt_example_tests(problem.prompt, problem.entry_point) if t not in problem.tests]
    return MatrixProblem(
        task_id=problem.task_id,
        prompt=problem.prompt,
        solutions=problem.solutions,
        tests=tests,
        test_counts=[1] * len(tests),
        example_counts=[1] * len(tests),
        solution_ids=problem.solution_ids,
        entry_point=problem.entry_point,
    )


def join_examples(matrix: ExecutionMatrix, shown: ExecutionMatrix, weight: int) -> ExecutionMatrix:
    """`matrix` (built without examples) with the prompt's examples as columns counted `weight` times: an
    example among its tests gains `weight` on its count, the others are `shown`'s columns (the matrix of
    `examples_problem`, same solutions in the same order)."""
    if shown.solution_ids != matrix.solution_ids:
        raise ValueError(f"{matrix.task_id}: the examples' matrix holds other solutions")
    examples = set(prompt_example_tests(matrix.prompt, matrix.entry_point))
    extra = [weight * int(test in examples) for test in matrix.tests]
    added = [weight] * shown.shape[1]
    return replace(
        matrix,
        test_ids=matrix.test_ids + shown.test_ids,
        tests=matrix.tests + shown.tests,
        test_counts=[c + e for c, e in zip(matrix.test_counts, extra, strict=True)] + added,
        example_counts=[e + x for e, x in zip(matrix.example_counts, extra, strict=True)] + added,
        passed=np.hstack([matrix.passed, shown.passed]),
        times=np.hstack([matrix.times, shown.times]),
    )


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True
