"""Test extraction, the matrix file format, and building matrices in the real sandbox."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from codepref.matrix import (
    ExecutionMatrix,
    MatrixProblem,
    collect_tests,
    extract_tests,
    load_matrices,
    read_problem_file,
    save_matrices,
    snippet_id,
    truncate_at_stop,
)

# --------------------------------------------------------------------------------------------------------
# extraction


def test_truncate_cuts_at_the_earliest_stop_sequence():
    text = "    return x\nprint(f(1))\n# note\ndef g(): pass"
    assert truncate_at_stop(text) == "    return x"
    assert truncate_at_stop("    return x\n") == "    return x\n"
    assert truncate_at_stop("a\nifx", stops=("\nif",)) == "a"  # plain substring match, as CodeT does


def test_extract_tests_follows_codet_rules():
    # the raw text follows a prompt ending in "assert "
    raw = (
        "f(1) == 2\n"
        "assert f(2) == 3, 'message'\n"
        "assert \n    f(3) == 4\n"  # `assert` then a newline does not compile: dropped
        "assert g(1) == 1\n"  # does not mention the entry point: dropped
        "assert f(4) == 5\n# trailing comment\nassert f(5) == 6\n"  # cut at "\n#"
        "assert f(6 == 7\n"  # does not parse, and takes the next line with it:
        "assert\tf(7) == 8\n"  # CodeT splits on "assert " (with the space), so this line is not split off
        "assert f(8) == 9\n"
        "assert f(9) == 10\n"
    )
    got = extract_tests(raw, "f", limit=None)
    assert got == [
        "assert f(1) == 2",
        "assert f(2) == 3, 'message'",
        "assert f(4) == 5",
        "assert f(5) == 6",
        "assert f(8) == 9",
        "assert f(9) == 10",
    ]
    assert extract_tests(raw, "f") == got[:5]  # CodeT keeps the first 5 per sample
    assert extract_tests("\n", "f") == []
    assert extract_tests("____ == f(1)\n", "f") == ["assert ____ == f(1)"]  # parses; it just fails when run


def test_multiline_assert_is_kept_whole():
    raw = "f([1,\n    2]) == [\n    3]\nassert f([]) == []\n"
    assert extract_tests(raw, "f") == ["assert f([1,\n    2]) == [\n    3]", "assert f([]) == []"]


def test_collect_tests_deduplicates_with_counts_in_first_seen_order():
    raws = ["f(1) == 1\nassert f(2) == 2\n", "f(2) == 2\n", "f(3) == 3\nassert f(1) == 1\n", "\n"]
    pool = collect_tests(raws, "f")
    assert pool.tests == ["assert f(1) == 1", "assert f(2) == 2", "assert f(3) == 3"]
    assert pool.counts == [2, 2, 1]
    assert pool.ids == [snippet_id(t) for t in pool.tests] and len(set(pool.ids)) == 3


def test_limit_applies_per_sample_before_pooling():
    raw = "".join(f"assert f({i}) == {i}\n" for i in range(8))[len("assert ") :]
    assert len(collect_tests([raw, raw], "f").tests) == 5
    assert collect_tests([raw, raw], "f").counts == [2] * 5
    assert len(collect_tests([raw], "f", limit=None).tests) == 8


# --------------------------------------------------------------------------------------------------------
# file format


def _random_matrix(task_id: str, n: int, m: int, seed: int) -> ExecutionMatrix:
    rng = np.random.default_rng(seed)
    times = rng.random((n, m)).astype(np.float32)
    times[rng.random((n, m)) < 0.2] = np.nan
    return ExecutionMatrix(
        task_id=task_id,
        prompt="def f(x):\n",
        solution_ids=[f"{task_id}#{i}" for i in range(n)],
        solutions=[f"    return {i}\n" for i in range(n)],
        test_ids=[f"t{j}" for j in range(m)],
        tests=[f"assert f({j}) == {j}" for j in range(m)],
        test_counts=[j % 3 + 1 for j in range(m)],
        passed=rng.random((n, m)) < 0.5,
        times=times,
        job_status=["passed"] * n,
    )


def test_save_and_load_round_trip_bits_and_times(tmp_path):
    matrices = [
        _random_matrix("T/0", 7, 13, 0),
        _random_matrix("T/1", 3, 0, 1),
        _random_matrix("T/2", 1, 1, 2),
    ]
    path = save_matrices(matrices, tmp_path / "m.jsonl")
    loaded = list(load_matrices(path))
    assert [m.task_id for m in loaded] == ["T/0", "T/1", "T/2"]
    for a, b in zip(matrices, loaded, strict=True):
        assert b.shape == a.shape and b.passed.dtype == bool and b.times.dtype == np.float32
        np.testing.assert_array_equal(a.passed, b.passed)
        np.testing.assert_array_equal(a.times, b.times)  # NaNs compare equal here
        assert (a.solution_ids, a.tests, a.test_counts, a.job_status) == (
            b.solution_ids,
            b.tests,
            b.test_counts,
            b.job_status,
        )
    # compact: 7 x 13 bits pack into 12 bytes
    record = json.loads(path.read_text().splitlines()[0])
    assert len(record["passed"]) == 4 * math.ceil(12 / 3)


def test_file_loads_with_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = save_matrices(
        [_random_matrix("T/0", 4, 5, 0), _random_matrix("T/1", 2, 3, 1)], tmp_path / "m.jsonl"
    )
    table = datasets.load_dataset("json", data_files=str(path), split="train")
    assert table["task_id"] == ["T/0", "T/1"] and table["m"] == [5, 3]


def test_bad_files_name_the_line_and_field(tmp_path):
    path = tmp_path / "m.jsonl"
    good = json.dumps(_random_matrix("T/0", 2, 2, 0).to_record())
    path.write_text(good + "\n{oops\n")
    with pytest.raises(ValueError, match=r"m.jsonl:2: not valid JSON"):
        list(load_matrices(path))
    record = json.loads(good)
    record["n"] = 3
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(ValueError, match=r"m.jsonl:1: field 'solution_ids' has 2 entries, expected 3"):
        list(load_matrices(path))
    del record["times"]
    path.write_text(good + "\n" + json.dumps(dict(record, n=2)) + "\n")
    with pytest.raises(ValueError, match=r"m.jsonl:2: missing field 'times'"):
        list(load_matrices(path))
    with pytest.raises(FileNotFoundError, match="no such matrix file"):
        list(load_matrices(tmp_path / "absent.jsonl"))


def test_problem_file_reading(tmp_path):
    path = tmp_path / "p.jsonl"
    lines = [
        {
            "task_id": "A",
            "prompt": "def f(x):\n",
            "entry_point": "f",
            "solutions": ["    return x\n"],
            "raw_tests": ["f(1) == 1\nassert f(2) == 2\n", "f(1) == 1\n"],
        },
        {
            "task_id": "B",
            "prompt": "def g(x):\n",
            "solutions": ["    return 1\n", "    return 2\n"],
            "tests": ["assert g(0) == 1", "assert g(0) == 1", "assert g(1) == 1"],
            "solution_ids": ["b0", "b1"],
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    a, b = read_problem_file(path)
    assert (a.tests, a.test_counts, a.solution_ids) == (
        ["assert f(1) == 1", "assert f(2) == 2"],
        [2, 1],
        ["A#0"],
    )
    assert (b.tests, b.test_counts, b.solution_ids) == (
        ["assert g(0) == 1", "assert g(1) == 1"],
        [2, 1],
        ["b0", "b1"],
    )
    path.write_text(
        json.dumps(lines[0]) + "\n" + json.dumps({"task_id": "C", "prompt": "", "solutions": []}) + "\n"
    )
    with pytest.raises(ValueError, match=r"p.jsonl:2: needs field 'tests' or 'raw_tests'"):
        read_problem_file(path)
    path.write_text(json.dumps(dict(lines[1], solution_ids=["only one"])) + "\n")
    with pytest.raises(ValueError, match=r"p.jsonl:1: B: 1 solution ids for 2 solutions"):
        read_problem_file(path)


def test_matrix_problem_from_raw_counts_tests():
    problem = MatrixProblem.from_raw(
        "X", "def f(x):\n", "f", ["    return x\n"] * 2, ["f(1) == 1\n", "f(1) == 1\nassert f(2) == 2"]
    )
    assert problem.tests == ["assert f(1) == 1", "assert f(2) == 2"] and problem.test_counts == [2, 1]
    assert problem.solution_ids == ["X#0", "X#1"]
    with pytest.raises(ValueError, match="X: tests must be distinct"):
        MatrixProblem("X", "", ["    pass\n"], ["assert 1", "assert 1"], [1, 1])


# --------------------------------------------------------------------------------------------------------
# building in the real sandbox

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


@pytest.fixture(scope="module")
def sandbox(docker_image):  # docker_image (tests/conftest.py) builds the image first, or skips
    from codepref.sandbox import Limits, Sandbox

    box = Sandbox(backend="docker", workers=2, limits=Limits(memory_mb=512))
    yield box
    box.close()


@pytest.mark.docker
def test_build_runs_one_job_per_distinct_solution_with_per_test_results(sandbox, tmp_path):
    from codepref.matrix import build_matrices

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
    assert matrix.test_timeout_s == 0.2
    (loaded,) = load_matrices(tmp_path / "m.jsonl")
    np.testing.assert_array_equal(loaded.passed, matrix.passed)


@pytest.mark.docker
def test_build_resumes_and_refuses_a_stale_file(sandbox, tmp_path):
    from codepref.matrix import build_matrices

    path = tmp_path / "m.jsonl"
    build_matrices([TOY, NO_TESTS], path, sandbox, test_timeout_s=0.2, progress=False)
    with path.open("a") as handle:
        handle.write('{"task_id": "toy/neg", "pas')  # a write cut short by a kill
    matrices, stats = build_matrices(
        [TOY, OTHER, NO_TESTS], path, sandbox, test_timeout_s=0.2, progress=False
    )
    assert (stats.problems_resumed, stats.problems_built, stats.jobs) == (2, 1, 2)
    assert [m.task_id for m in matrices] == ["toy/inc", "toy/neg", "toy/none"]
    assert sorted(m.task_id for m in load_matrices(path)) == ["toy/inc", "toy/neg", "toy/none"]
    assert matrices[2].shape == (1, 0)
    np.testing.assert_array_equal(matrices[1].passed, [[True], [False]])
    changed = MatrixProblem(
        task_id="toy/neg",
        prompt=OTHER.prompt,
        solutions=OTHER.solutions,
        tests=["assert neg(3) == -3"],
        test_counts=[1],
    )
    with pytest.raises(ValueError, match="toy/neg was built from other solutions or tests"):
        build_matrices([changed], path, sandbox, progress=False)
    with pytest.raises(ValueError, match="toy/neg ran with a 0.2 s test timeout, not 0.1 s"):
        build_matrices([OTHER], path, sandbox, test_timeout_s=0.1, progress=False)


@pytest.mark.docker
def test_matrix_command_on_a_problem_file(tmp_path):
    import typer
    from typer.testing import CliRunner

    from codepref.matrix import matrix_command

    problems = tmp_path / "problems.jsonl"
    problems.write_text(
        json.dumps(
            {
                "task_id": "toy/neg",
                "prompt": "def neg(x):\n",
                "entry_point": "neg",
                "solutions": ["    return -x\n", "    return x\n"],
                "raw_tests": ["neg(2) == -2\nassert neg(0) == 0\n", "neg(2) == -2\n"],
            }
        )
        + "\n"
    )
    app = typer.Typer()
    app.command()(matrix_command)
    out = tmp_path / "m.jsonl"
    result = CliRunner().invoke(app, [str(problems), "-o", str(out), "--backend", "docker", "--workers", "1"])
    assert result.exit_code == 0, result.output
    (matrix,) = load_matrices(out)
    assert matrix.tests == ["assert neg(2) == -2", "assert neg(0) == 0"] and matrix.test_counts == [2, 1]
    np.testing.assert_array_equal(matrix.passed, [[True, True], [False, True]])
    bad = CliRunner().invoke(app, [str(tmp_path / "missing.jsonl"), "-o", str(out)])
    assert bad.exit_code == 2 and "no such problem file" in bad.output
