"""Building matrices in the real sandbox: one job per distinct solution, per-test results, resuming."""

from __future__ import annotations

import numpy as np
import pytest

from codepref.matrix.build import MatrixProblem, SandboxMatrixBuilder, build_matrices
from codepref.matrix.extraction import snippet_id
from codepref.matrix.format import load_matrices

TOY = MatrixProblem(
    task_id="toy/inc",
    prompt="def inc(x):\n",
    solutions=[
        "    return x + 1\n",
        "    return x + 1\n",  # a duplicate: runs once, its row is a copy
        "    return x\n",
        "    while True:\n        pass\n",  # every test hits the per-test timeout
        "    return undefined_name\n",
        "    return (\n",  # does not compile: no test runs
    ],
    tests=["assert inc(1) == 2", "assert inc(0) == 0", "assert inc(-1) == 0"],
    test_counts=[2, 1, 1],
    example_counts=[1, 0, 0],  # inc(1) == 2 is also one of the prompt's examples
)
OTHER = MatrixProblem(
    task_id="toy/neg",
    prompt="def neg(x):\n",
    solutions=["    return -x\n", "    return x\n"],
    tests=["assert neg(2) == -2"],
    test_counts=[1],
)
NO_TESTS = MatrixProblem(
    task_id="toy/none", prompt="def f():\n", solutions=["    return 1\n"], tests=[], test_counts=[]
)


def test_a_problem_refuses_example_counts_that_do_not_fit_its_test_counts():
    assert OTHER.example_counts == [0]  # none given: no test is an example
    for counts in ([2], [-1], [0, 0]):
        with pytest.raises(ValueError, match=r"toy/neg: example counts .* must be one per test"):
            MatrixProblem(**{**vars(OTHER), "example_counts": counts})


@pytest.fixture(scope="module")
def sandbox(docker_image):  # docker_image (tests/conftest.py) builds the image first, or skips
    from codepref.sandbox import Sandbox
    from codepref.sandbox.types import limits_profile

    box = Sandbox(backend="docker", workers=2, limits=limits_profile("execution", memory_mb=512))
    yield box
    box.close()


@pytest.mark.docker
def test_build_runs_one_job_per_distinct_solution_with_per_test_results(sandbox, tmp_path):
    (matrix,), stats = build_matrices(
        [TOY], tmp_path / "m.jsonl", sandbox, test_timeout_s=0.2, progress=False
    )
    assert stats.jobs == 5 and stats.test_runs == 12  # the uncompilable solution runs no test
    expected = [[1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    np.testing.assert_array_equal(matrix.passed, np.array(expected, dtype=bool))
    assert np.isnan(matrix.times[5]).all() and np.isfinite(matrix.times[:5]).all()
    assert (matrix.times[3] >= 0.19).all() and (matrix.times[3] < 2).all()  # stopped by the 0.2 s limit
    assert matrix.times[0].max() < 0.19
    assert matrix.job_status == ["failed", "failed", "failed", "timeout", "failed", "failed"]
    assert matrix.test_ids == [snippet_id(t) for t in TOY.tests] and matrix.test_counts == [2, 1, 1]
    assert matrix.example_counts == [1, 0, 0] and matrix.sampled_counts == [1, 1, 1]
    assert matrix.test_timeout_s == 0.2
    (loaded,) = load_matrices(tmp_path / "m.jsonl")
    np.testing.assert_array_equal(loaded.passed, matrix.passed)


@pytest.mark.docker
def test_the_judges_builder_runs_candidates_in_memory_as_a_build_would(sandbox):
    passed = SandboxMatrixBuilder(sandbox, test_timeout_s=0.2)(TOY.prompt, TOY.solutions, TOY.tests)
    expected = [[1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    np.testing.assert_array_equal(passed, np.array(expected, dtype=bool))
    assert SandboxMatrixBuilder(sandbox)(TOY.prompt, TOY.solutions, []).shape == (6, 0)


@pytest.mark.docker
def test_build_resumes_and_refuses_a_stale_file(sandbox, tmp_path):
    path = tmp_path / "m.jsonl"
    build_matrices([TOY, NO_TESTS], path, sandbox, test_timeout_s=0.2, progress=False)
    with path.open("a") as handle:
        handle.write('{"task_id": "toy/neg", "pas')  # a write cut short by a kill
    matrices, stats = build_matrices(
        [TOY, OTHER, NO_TESTS], path, sandbox, test_timeout_s=0.2, progress=False
    )
    assert (stats.problems_resumed, stats.problems_built, stats.jobs) == (2, 1, 2)
    assert [m.task_id for m in matrices] == ["toy/inc", "toy/neg", "toy/none"]
    assert [m.task_id for m in load_matrices(path)] == ["toy/inc", "toy/neg", "toy/none"]  # not file order
    assert matrices[2].shape == (1, 0)
    np.testing.assert_array_equal(matrices[1].passed, [[True], [False]])
    changed = MatrixProblem(
        task_id="toy/neg",
        prompt=OTHER.prompt,
        solutions=OTHER.solutions,
        tests=["assert neg(3) == -3"],
        test_counts=[1],
    )
    with pytest.raises(ValueError, match="toy/neg was built from other solutions, tests or example counts"):
        build_matrices([changed], path, sandbox, progress=False)
    as_example = MatrixProblem(**{**vars(OTHER), "example_counts": [1]})
    with pytest.raises(ValueError, match="toy/neg was built from other solutions, tests or example counts"):
        build_matrices([as_example], path, sandbox, test_timeout_s=0.2, progress=False)
    with pytest.raises(ValueError, match="toy/neg ran with a 0.2 s test timeout, not 0.1 s"):
        build_matrices([OTHER], path, sandbox, test_timeout_s=0.1, progress=False)


@pytest.mark.docker
def test_a_finished_file_follows_the_order_of_the_problems_not_of_the_jobs_finishing(sandbox, tmp_path):
    slow = MatrixProblem(
        task_id="toy/slow",
        prompt="import time\ndef slow(x):\n",
        solutions=["    time.sleep(1.0)\n    return x\n"],
        tests=["assert slow(1) == 1"],
        test_counts=[1],
    )
    path = tmp_path / "m.jsonl"
    build_matrices([OTHER], path, sandbox, test_timeout_s=2.0, progress=False)  # a problem not asked for next
    build_matrices([slow, TOY], path, sandbox, test_timeout_s=2.0, progress=False)
    assert [m.task_id for m in load_matrices(path)] == ["toy/slow", "toy/inc", "toy/neg"]
    assert not list(tmp_path.glob("*.ordering"))


@pytest.mark.docker
def test_tests_a_job_never_reached_have_a_status_of_their_own(sandbox):
    from codepref.matrix.build import tests_job
    from codepref.sandbox.types import Status

    (broken,) = sandbox.run_many([tests_job("def f(:\n", ["assert True", "assert True"], 1.0)])
    assert [t.status for t in broken.tests] == [Status.NOT_RUN, Status.NOT_RUN]
    (stuck,) = sandbox.run_many([tests_job("", ["while True: pass", "assert True"], 0.2)])
    assert [t.status for t in stuck.tests] == [Status.TIMEOUT, Status.PASSED] or stuck.tests[-1].status in (
        Status.NOT_RUN,
        Status.PASSED,
    )


class ScriptedSandbox:
    """Stands in for the sandbox: a job whose program holds `crash` ends in a sandbox error, any other
    passes every test."""

    def __init__(self, crash: str | None) -> None:
        self.crash = crash

    def run_many(self, jobs):
        from codepref.sandbox.types import Status, TestResult, Verdict

        for job in jobs:
            if self.crash is not None and self.crash in job.program:
                yield Verdict(job_id=job.job_id, status=Status.SANDBOX_ERROR, error="scripted", attempts=2)
            else:
                tests = [TestResult(Status.PASSED, 0.01) for _ in job.tests]
                yield Verdict(job_id=job.job_id, status=Status.PASSED, tests=tests)


def test_a_row_lost_to_a_sandbox_error_fails_every_test_and_its_problem_stays_in_the_file(tmp_path):
    path = tmp_path / "m.jsonl"
    matrices, stats = build_matrices(
        [OTHER, TOY], path, ScriptedSandbox(crash="return x\n"), test_timeout_s=0.2, progress=False
    )
    assert [m.task_id for m in matrices] == [m.task_id for m in load_matrices(path)] == ["toy/neg", "toy/inc"]
    assert stats.problems_built == 2 and stats.sandbox_errors == 2  # `return x` in both problems
    neg, inc = matrices
    np.testing.assert_array_equal(neg.passed, [[True], [False]])
    assert neg.job_status == ["passed", "sandbox_error"] and inc.job_status[2] == "sandbox_error"
    assert not inc.passed[2].any() and inc.passed[[0, 1, 3, 4, 5]].all()
    # A rerun builds those problems again; the file keeps one matrix per problem, the last build.
    matrices, stats = build_matrices(
        [OTHER, TOY], path, ScriptedSandbox(crash=None), test_timeout_s=0.2, progress=False
    )
    assert (stats.problems_resumed, stats.problems_built, stats.sandbox_errors) == (0, 2, 0)
    assert [m.task_id for m in load_matrices(path)] == ["toy/neg", "toy/inc"]
    assert all(m.passed.all() for m in load_matrices(path))
