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
        example_counts=[j % 2 for j in range(m)],
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
        assert (a.solution_ids, a.tests, a.test_counts, a.example_counts, a.job_status) == (
            b.solution_ids,
            b.tests,
            b.test_counts,
            b.example_counts,
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


def test_sampled_counts_are_the_test_counts_less_the_prompts_examples():
    matrix = _random_matrix("T/0", 2, 4, 0)
    assert matrix.test_counts == [1, 2, 3, 1] and matrix.example_counts == [0, 1, 0, 1]
    assert matrix.sampled_counts == [1, 1, 3, 0]
    assert _random_matrix("T/1", 1, 0, 0).sampled_counts == []


def test_a_matrix_built_without_example_counts_has_none_and_a_mismatched_length_is_refused():
    matrix = _random_matrix("T/0", 2, 3, 0)
    bare = ExecutionMatrix(**{**vars(matrix), "example_counts": []})
    assert bare.example_counts == [0, 0, 0] and bare.sampled_counts == bare.test_counts
    with pytest.raises(ValueError, match="T/0: 2 example counts for 3 tests"):
        ExecutionMatrix(**{**vars(matrix), "example_counts": [1, 1]})


def test_a_line_of_format_1_is_refused_in_one_line_naming_it(tmp_path):
    """Format 1 had no example counts: reading its prompt-example columns as sampled tests would be silent."""
    record = _random_matrix("T/0", 2, 2, 0).to_record()
    del record["example_counts"]
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({**record, "format": "codepref.matrix/1"}) + "\n")
    with pytest.raises(ValueError, match=r"m.jsonl:1: format 'codepref.matrix/1', not 'codepref.matrix/2'"):
        list(load_matrices(path))
