"""Preference pairs: selection per method, efficiency timing, the output files and resuming."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from codepref.cli import app
from codepref.matrix import ExecutionMatrix, save_matrices
from codepref.pairs import (
    PairConfig,
    PairStore,
    SandboxTimer,
    correctness_pairs,
    efficiency_pairs,
    fast_slow_pairs,
    kto_rows,
    pairs_for_matrix,
    rank_matrix,
    write_pairs,
)
from codepref.rank.dstc import concatenate


def make_matrix(task_id, passed, counts=None, solutions=None, prompt="def f(x):\n"):
    passed = np.asarray(passed, dtype=bool)
    n, m = passed.shape
    return ExecutionMatrix(
        task_id=task_id,
        prompt=prompt,
        solution_ids=[f"{task_id}#{i}" for i in range(n)],
        solutions=solutions or [f"    return x + {i}" for i in range(n)],
        test_ids=[f"t{j}" for j in range(m)],
        tests=[f"assert f({j}) == {j}" for j in range(m)],
        test_counts=list(counts) if counts is not None else [1] * m,
        passed=passed,
        times=np.zeros((n, m), dtype=np.float32),
    )


# CodeT: sets {0, 1} (2 x 2), {2} (1 x 4) tie at 4 (confidence 0.2); {4} scores 1 (0.05); 3 passes nothing.
CODET = [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 1, 0]]


def test_codet_pairs_top_against_bottom():
    matrix = make_matrix("p", CODET)
    config = PairConfig(method="codet", pairs_per_problem=3)
    pairs = correctness_pairs(matrix, rank_matrix(matrix, config), config)
    top = {matrix.solutions[i] for i in (0, 1, 2)}
    assert [p.rejected for p in pairs] == [matrix.solutions[3], matrix.solutions[4]]  # never a top solution
    assert all(p.chosen in top for p in pairs)
    assert [p.margin for p in pairs] == pytest.approx([0.2, 0.15])
    assert all(p.kind == "correctness" and p.method == "codet" and p.prompt == matrix.prompt for p in pairs)
    assert pairs[0].rejected_id == "p#3"

    strict = PairConfig(method="codet", pairs_per_problem=3, min_margin=0.19)
    assert len(correctness_pairs(matrix, rank_matrix(matrix, strict), strict)) == 1


def test_identical_texts_are_never_paired():
    solutions = ["    return x", "    return x", "    return x", "    return 0", "    return x"]
    matrix = make_matrix("p", CODET, solutions=solutions)
    config = PairConfig(method="codet", pairs_per_problem=5)
    pairs = correctness_pairs(matrix, rank_matrix(matrix, config), config)
    assert [(p.chosen, p.rejected) for p in pairs] == [("    return x", "    return 0")]


def test_untrusted_problems_are_skipped():
    config = PairConfig(method="codedpo")
    assert pairs_for_matrix(make_matrix("p", np.zeros((4, 3))), config) == []
    confident = PairConfig(method="codet", min_top_confidence=0.5)
    assert pairs_for_matrix(make_matrix("p", CODET), confident) == []


def test_dstc_pair_concatenates_solution_and_test():
    passed = [[1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 1], [1, 0, 1, 1], [1, 0, 0, 1]]  # see test_rank_dstc
    matrix = make_matrix("p", passed)
    (pair,) = pairs_for_matrix(matrix, PairConfig(method="dstc"))
    assert pair.chosen == concatenate(matrix.solutions[2], matrix.tests[1])
    assert pair.rejected == concatenate(matrix.solutions[4], matrix.tests[2])
    assert (pair.chosen_id, pair.rejected_id, pair.chosen_test, pair.rejected_test) == (
        "p#2",
        "p#4",
        "t1",
        "t2",
    )
    assert pair.margin == pytest.approx(1.0 - 0.5)


def runs_around(medians, spread=0.1):
    """Three runs per solution: the median and +-spread around it."""
    medians = np.asarray(medians, dtype=float)[:, None]
    return medians + np.array([-spread, 0.0, spread])


def test_fast_slow_pairs():
    runs = runs_around([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert fast_slow_pairs(runs, 1.2, 0.0, 3) == [(0, 5), (1, 4), (2, 3)]
    assert fast_slow_pairs(runs, 1.5, 0.0, 3) == [(0, 5), (1, 4)]
    assert fast_slow_pairs(runs, 1.2, 2.5, 3) == [(0, 5), (1, 4)]  # 4 - 3 is under the 2.5 s floor
    assert fast_slow_pairs(runs_around([np.nan, 3.0, 1.0]), 1.2, 0.0, 2) == [(2, 1)]
    one_failed_run = np.array([[1.0, 1.0, np.nan], [3.0, 3.0, 3.0], [1.0, 1.0, 1.0]])
    assert fast_slow_pairs(one_failed_run, 1.2, 0.0, 2) == [(2, 1)]  # solution 0 is not reliably correct


def test_overlapping_runs_are_noise_not_a_pair():
    # Medians 1.0 and 2.0, but the slow one once ran in 0.9 s: jitter, no pair.
    jittery = np.array([[0.8, 1.0, 1.2], [0.9, 2.0, 2.1]])
    assert fast_slow_pairs(jittery, 1.2, 0.0, 1) == []
    assert fast_slow_pairs(np.array([[0.8, 1.0, 1.2], [1.3, 2.0, 2.1]]), 1.2, 0.0, 1) == [(0, 1)]


# Solutions 0-2 agree on tests 0 and 1 (the trusted tests); 3 passes test 2 alone.
EFFICIENCY = [[1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 0, 1]]


class RecordingTimer:
    """Stands in for the sandbox in selection-logic tests: each solution runs in its fixed time, +-1%."""

    def __init__(self, times):
        self.times = np.asarray(times, dtype=float)
        self.calls = []

    def __call__(self, prompt, solutions, tests, repeats):
        self.calls.append((prompt, list(solutions), list(tests), repeats))
        return self.times[: len(solutions), None] * np.linspace(0.99, 1.01, repeats)


def test_efficiency_pairs_time_the_top_group_on_trusted_tests():
    matrix = make_matrix("p", EFFICIENCY)
    config = PairConfig(method="codedpo", efficiency=True, timing_repeats=7)
    timer = RecordingTimer([0.010, 0.030, 0.020])
    pairs = efficiency_pairs(matrix, rank_matrix(matrix, config), config, timer)
    ((prompt, solutions, tests, repeats),) = timer.calls
    assert sorted(solutions) == matrix.solutions[:3] and tests == matrix.tests[:2] and repeats == 7
    (pair,) = pairs
    assert pair.kind == "efficiency"
    assert pair.chosen == solutions[0] and pair.rejected == solutions[1]
    assert (pair.chosen_time_s, pair.rejected_time_s) == pytest.approx((0.010, 0.030))
    assert pair.margin == pytest.approx(0.020)

    slow_bar = PairConfig(method="codedpo", efficiency=True, speedup=4.0)
    assert (
        efficiency_pairs(matrix, rank_matrix(matrix, slow_bar), slow_bar, RecordingTimer([0.01, 0.03, 0.02]))
        == []
    )


def test_codedpo_yields_both_kinds():
    config = PairConfig(method="codedpo", efficiency=True)
    pairs = pairs_for_matrix(make_matrix("p", EFFICIENCY), config, RecordingTimer([0.01, 0.03, 0.02]))
    assert [p.kind for p in pairs] == ["correctness", "efficiency"]
    assert pairs[0].rejected == "    return x + 3"
    with pytest.raises(ValueError, match="timer"):
        pairs_for_matrix(make_matrix("p", EFFICIENCY), config)
    with pytest.raises(ValueError, match="codedpo"):
        PairConfig(method="dstc", efficiency=True)


def test_kto_rows_label_each_side_once():
    matrix = make_matrix("p", CODET)
    config = PairConfig(method="codet", pairs_per_problem=3)
    pairs = correctness_pairs(matrix, rank_matrix(matrix, config), config)
    rows = kto_rows(pairs)
    assert sum(r["label"] for r in rows) == len({p.chosen for p in pairs})
    assert {r["completion"] for r in rows if not r["label"]} == {p.rejected for p in pairs}
    assert set(rows[0]) >= {"prompt", "completion", "label"}


def test_files_load_with_datasets_and_resume(tmp_path):
    from datasets import load_dataset

    matrices = [make_matrix(f"task/{k}", CODET) for k in range(3)] + [
        make_matrix("task/none", np.zeros((2, 2)))
    ]
    config = PairConfig(method="codet", pairs_per_problem=2)
    out = tmp_path / "pairs"
    summary = write_pairs(matrices[:2], out, config)
    assert summary == {"problems": 2, "pairs": 4, "kto_rows": 8}

    # An interrupted run: a pair row of an unfinished problem and a torn last line.
    with (out / "pairs.jsonl").open("a") as handle:
        handle.write(json.dumps({"task_id": "task/2", "prompt": "stale"}) + "\n" + '{"task_id": "ta')
    summary = write_pairs(matrices, out, config)
    assert summary == {"problems": 4, "pairs": 6, "kto_rows": 12}
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in rows] == ["task/0"] * 2 + ["task/1"] * 2 + ["task/2"] * 2

    for name in ("pairs", "kto"):
        from_json = load_dataset("json", data_files=str(out / f"{name}.jsonl"), split="train")
        from_parquet = load_dataset("parquet", data_files=str(out / f"{name}.parquet"), split="train")
        assert len(from_json) == len(from_parquet) == (6 if name == "pairs" else 12)
        assert from_json.column_names == from_parquet.column_names
    pairs = load_dataset("parquet", data_files=str(out / "pairs.parquet"), split="train")
    assert {
        "prompt",
        "chosen",
        "rejected",
        "method",
        "task_id",
        "chosen_score",
        "rejected_score",
        "margin",
        "kind",
    } <= set(pairs.column_names)
    assert set(load_dataset("json", data_files=str(out / "kto.jsonl"), split="train")["label"]) == {
        True,
        False,
    }

    with pytest.raises(ValueError, match="other settings"):
        PairStore(out, PairConfig(method="dstc"))


def test_cli_writes_pairs(tmp_path):
    path = save_matrices([make_matrix("task/0", CODET), make_matrix("task/1", CODET)], tmp_path / "m.jsonl")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["pairs", str(path), "--method", "codet", "-o", str(out), "--codet-weight", "sqrt"]
    )
    assert result.exit_code == 0, result.output
    assert "2 pairs from 2 problems" in result.output
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert {r["chosen_id"] for r in rows} == {
        "task/0#2",
        "task/1#2",
    }  # sqrt weighting: solution 2 alone on top
    again = CliRunner().invoke(app, ["pairs", str(path), "--method", "codet", "-o", str(out)])
    assert again.exit_code == 2 and "other settings" in again.output  # count weighting != the sqrt run
    bad = CliRunner().invoke(app, ["pairs", str(path), "--method", "vote", "-o", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "method" in bad.output


@pytest.mark.docker
def test_sandbox_timer_finds_the_faster_solution():
    from codepref.sandbox import Sandbox

    fast = "    return sum(range(x))\n"
    slow = "    total = 0\n    for _ in range(30):\n        total = sum(range(x))\n    return total\n"
    matrix = make_matrix("p", [[1, 1], [1, 1], [0, 0]], solutions=[slow, fast, "    return -1\n"])
    matrix.tests = ["assert f(200000) == 19999900000", "assert f(10) == 45"]
    config = PairConfig(method="codedpo", efficiency=True, timing_repeats=3, speedup=2.0)
    with Sandbox(backend="docker", workers=2) as sandbox:
        pairs = pairs_for_matrix(matrix, config, SandboxTimer(sandbox, test_timeout_s=5.0))
    efficiency = [p for p in pairs if p.kind == "efficiency"]
    assert len(efficiency) == 1
    assert efficiency[0].chosen == fast and efficiency[0].rejected == slow
    assert efficiency[0].rejected_time_s > 2.0 * efficiency[0].chosen_time_s
