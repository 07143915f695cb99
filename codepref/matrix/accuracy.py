"""How right a model's sampled tests are: the share of a problem's distinct sampled asserts that its
canonical solution passes. A benchmark's measure (the loop never sees canonical solutions); an assert the
canonical solution fails is one that would count a right sample as wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from codepref.matrix.build import tests_job
from codepref.matrix.extraction import DEFAULT_TEST_TIMEOUT_S
from codepref.sandbox import Sandbox, Status
from codepref.tasks.problem import Problem


@dataclass(frozen=True)
class TestAccuracy:
    __test__ = False  # not a pytest test class

    right: int  # asserts the canonical solution passes
    asserts: int  # distinct asserts run, over every problem
    problems: int  # problems with at least one assert

    @property
    def share(self) -> float:
        return self.right / self.asserts if self.asserts else float("nan")


def generated_test_accuracy(
    problems: Sequence[Problem],
    tests: Sequence[Sequence[str]],
    sandbox: Sandbox,
    test_timeout_s: float = DEFAULT_TEST_TIMEOUT_S,
) -> TestAccuracy:
    """`tests[i]`: the asserts sampled for `problems[i]` (extracted, as `codepref.matrix.extraction` does),
    each distinct one run once against the problem's canonical solution in `sandbox`."""
    jobs = [
        tests_job(problem.reference_program, distinct, test_timeout_s)
        for problem, per in zip(problems, tests, strict=True)
        if (distinct := list(dict.fromkeys(per)))
    ]
    results = [test.status == Status.PASSED for verdict in sandbox.run_many(jobs) for test in verdict.tests]
    return TestAccuracy(right=sum(results), asserts=len(results), problems=len(jobs))
