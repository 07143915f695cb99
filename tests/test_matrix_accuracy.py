"""Accuracy of sampled tests against the canonical solution, in the real sandbox on real synth problems."""

import math

import pytest
from sandboxes import BACKENDS, open_sandbox

from codepref.data import load_problems
from codepref.matrix.accuracy import generated_test_accuracy
from codepref.sandbox.types import limits_profile


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    with open_sandbox(request, limits_profile("pipeline")) as box:
        yield box


@pytest.fixture(scope="module")
def problems():
    return load_problems("synth-validation")[:2]


def wrong_test(problem) -> str:
    return f"assert {problem.entry_point}('no such input') == 'no such output'"


def test_the_share_counts_the_asserts_the_canonical_solution_passes(sandbox, problems):
    first, second = problems
    tests = [[*first.test_list[:2], wrong_test(first)], [second.test_list[0]]]
    accuracy = generated_test_accuracy(problems, tests, sandbox)
    assert (accuracy.right, accuracy.asserts, accuracy.problems) == (3, 4, 2)
    assert accuracy.share == 0.75


def test_an_assert_sampled_twice_counts_once_and_a_problem_without_asserts_not_at_all(sandbox, problems):
    first, second = problems
    right = first.test_list[0]
    accuracy = generated_test_accuracy(problems, [[right, wrong_test(first), right], []], sandbox)
    assert (accuracy.right, accuracy.asserts, accuracy.problems) == (1, 2, 1)


def test_without_any_assert_the_share_is_not_a_number(sandbox, problems):
    accuracy = generated_test_accuracy(problems, [[], []], sandbox)
    assert (accuracy.asserts, accuracy.problems) == (0, 0) and math.isnan(accuracy.share)
