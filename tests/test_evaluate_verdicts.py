"""Hidden-test verdicts of sampled programs, in the real sandbox on real synth problems."""

import pytest
from sandboxes import BACKENDS, open_sandbox

from codepref.data import load_problems
from codepref.evaluate.verdicts import hidden_verdicts
from codepref.sandbox.types import limits_profile


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    with open_sandbox(request, limits_profile("evaluation")) as box:
        yield box


@pytest.fixture(scope="module")
def problems():
    return load_problems("synth-validation")[:2]


def test_a_canonical_program_passes_and_a_wrong_or_broken_one_fails(sandbox, problems):
    problem = problems[0]
    right = problem.reference_program
    wrong = problem.program("    return None\n")
    broken = problem.program("    return (\n")
    assert hidden_verdicts([problem], [[right, wrong, broken]], sandbox) == [[True, False, False]]


def test_the_verdicts_have_the_shape_of_the_programs_repeats_and_empty_lists_included(sandbox, problems):
    problem = problems[0]
    right, wrong = problem.reference_program, problem.program("    return None\n")
    verdicts = hidden_verdicts([problem, problem], [[wrong, right, wrong, right], []], sandbox)
    assert verdicts == [[False, True, False, True], []]


def test_a_program_is_judged_by_the_tests_of_the_problem_it_is_given_for(sandbox, problems):
    first, second = problems
    program = first.reference_program
    assert hidden_verdicts([first, second], [[program], [program]], sandbox) == [[True], [False]]


def test_programs_for_a_problem_that_is_not_there_are_refused(sandbox, problems):
    with pytest.raises(ValueError):
        hidden_verdicts([problems[0]], [[], []], sandbox)
