"""The matrix file format: round trips, `datasets` compatibility, and errors naming the line and field."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from codepref.matrix.format import ExecutionMatrix, load_matrices, save_matrices


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
    import datasets

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
