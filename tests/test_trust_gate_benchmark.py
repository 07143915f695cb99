"""benchmarks/trust_gate.py's own parts: deriving every example weight from one matrix build, and which
samples pass their prompt's examples."""

import numpy as np
import pytest

from codepref.matrix import ExecutionMatrix, MatrixProblem, prompt_example_tests, with_example_tests

PROMPT = 'def f(x):\n    """Double x.\n    >>> f(2)\n    4\n    >>> f(0)\n    0\n    """\n'


@pytest.fixture(scope="module")
def trust_gate(benchmark_script):
    return benchmark_script("trust_gate")


def built_at(weight: int) -> ExecutionMatrix:
    """What the matrix stage writes at `weight`: sampled tests `f(0) == 0` (sampled twice, also an example)
    and `f(1) == 3` (wrong), and the examples `f(2) == 4` and `f(0) == 0`. Rows: x * 2, x + 2, x * 3."""
    problem = MatrixProblem(
        "p", PROMPT, ["a", "b", "c"], ["assert f(0) == 0", "assert f(1) == 3"], [2, 1], entry_point="f"
    )
    problem = with_example_tests(problem, prompt_example_tests(PROMPT, "f"), weight)
    outcome = {"assert f(0) == 0": [1, 0, 1], "assert f(1) == 3": [0, 1, 1], "assert f(2) == 4": [1, 1, 0]}
    passed = np.array([outcome[t] for t in problem.tests], dtype=bool).T
    return ExecutionMatrix(
        task_id="p",
        prompt=PROMPT,
        solution_ids=["p#0", "p#1", "p#2"],
        solutions=problem.solutions,
        test_ids=[f"t{i}" for i in range(len(problem.tests))],
        tests=problem.tests,
        test_counts=problem.test_counts,
        example_counts=problem.example_counts,
        passed=passed,
        times=np.zeros(passed.shape, dtype=np.float32),
        entry_point="f",
    )


@pytest.mark.parametrize("weight", [0, 3, 30])
def test_a_matrix_built_at_weight_one_reweighted_equals_the_matrix_built_at_that_weight(trust_gate, weight):
    derived, direct = trust_gate.reweighted(built_at(1), weight), built_at(weight)
    assert (derived.tests, derived.test_counts, derived.example_counts) == (
        direct.tests,
        direct.test_counts,
        direct.example_counts,
    )
    np.testing.assert_array_equal(derived.passed, direct.passed)
    assert derived.times.shape == direct.passed.shape


def test_weight_zero_keeps_an_example_the_model_also_sampled_at_its_sampled_count(trust_gate):
    derived = trust_gate.reweighted(built_at(1), 0)
    assert derived.tests == ["assert f(0) == 0", "assert f(1) == 3"] and derived.test_counts == [2, 1]


def test_a_sample_passes_the_examples_only_when_it_passes_every_one_of_them(trust_gate):
    assert trust_gate.example_verdicts([built_at(1)]) == {"p#0": True, "p#1": False, "p#2": False}
