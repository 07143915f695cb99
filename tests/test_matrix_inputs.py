"""Problem files of `codepref matrix` and matrix problems built from raw sampled tests."""

from __future__ import annotations

import json

import pytest

from codepref.data import load_problems
from codepref.matrix.build import MatrixProblem
from codepref.matrix.inputs import matrix_problem, read_problem_file
from codepref.tasks import make_task


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


def test_completions_are_cut_at_the_prompts_stops_and_matrix_problems_keep_the_order():
    task = make_task(load_problems("humaneval")[0])
    solutions = {
        "completions": [{"text": "    return True\ndef extra():\n    pass\n"}, {"text": "    return False\n"}]
    }
    tests = {"completions": [{"text": "has_close_elements([1.0], 0.5) == False\n"}]}
    problem = matrix_problem(task, "completion", solutions, tests, tests_per_sample=5)
    assert problem.prompt == task.prompt and problem.solutions == ["    return True", "    return False\n"]
    assert problem.tests == ["assert has_close_elements([1.0], 0.5) == False"]
    assert problem.entry_point == "has_close_elements"
    weighted = matrix_problem(task, "completion", solutions, tests, tests_per_sample=5, example_weight=4)
    assert weighted.tests == [
        "assert has_close_elements([1.0], 0.5) == False",
        "assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False",
        "assert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True",
    ]
    assert weighted.test_counts == [1, 4, 4]
