"""Which solutions make preference pairs, given the rank stage's ranking (no sandbox needed)."""

import numpy as np
import pytest
from matrices import CODET, EFFICIENCY, make_matrix, ranked

from codepref.pairs.config import PairConfig
from codepref.pairs.selection import correctness_pairs, efficiency_pairs, pairs_for_problem
from codepref.rank.dstc import concatenate


def test_codet_pairs_top_against_bottom():
    matrix = make_matrix("p", CODET)
    config = PairConfig(method="codet", pairs_per_problem=3)
    pairs = correctness_pairs(matrix, ranked(matrix, config), config)
    top = {matrix.solutions[i] for i in (0, 1, 2)}
    assert [p.rejected for p in pairs] == [matrix.solutions[3], matrix.solutions[4]]  # never a top solution
    assert all(p.chosen in top for p in pairs)
    assert [p.margin for p in pairs] == pytest.approx([0.2, 0.15])
    assert all(p.kind == "correctness" and p.method == "codet" and p.prompt == matrix.prompt for p in pairs)
    assert pairs[0].rejected_id == "p#3"

    strict = PairConfig(method="codet", pairs_per_problem=3, min_margin=0.19)
    assert len(correctness_pairs(matrix, ranked(matrix, strict), strict)) == 1


def test_identical_texts_are_never_paired():
    solutions = ["    return x", "    return x", "    return x", "    return 0", "    return x"]
    matrix = make_matrix("p", CODET, solutions=solutions)
    config = PairConfig(method="codet", pairs_per_problem=5)
    pairs = correctness_pairs(matrix, ranked(matrix, config), config)
    assert [(p.chosen, p.rejected) for p in pairs] == [("    return x", "    return 0")]


def test_untrusted_problems_are_skipped():
    config = PairConfig(method="codedpo")
    silent = make_matrix("p", np.zeros((4, 3)))
    assert pairs_for_problem(silent, ranked(silent, config), config) == []
    confident = PairConfig(method="codet", min_top_confidence=0.5)
    matrix = make_matrix("p", CODET)
    assert pairs_for_problem(matrix, ranked(matrix, confident), confident) == []


def test_dstc_pair_concatenates_solution_and_test():
    passed = [[1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 1], [1, 0, 1, 1], [1, 0, 0, 1]]  # see test_rank_dstc
    matrix = make_matrix("p", passed)
    config = PairConfig(method="dstc")
    (pair,) = pairs_for_problem(matrix, ranked(matrix, config), config)
    assert pair.chosen == concatenate(matrix.solutions[2], matrix.tests[1])
    assert pair.rejected == concatenate(matrix.solutions[4], matrix.tests[2])
    assert (pair.chosen_id, pair.rejected_id, pair.chosen_index, pair.rejected_index) == ("p#2", "p#4", 2, 4)
    assert (pair.chosen_test, pair.rejected_test) == (matrix.tests[1], matrix.tests[2])
    assert pair.margin == pytest.approx(1.0 - 0.5)


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
    pairs = efficiency_pairs(matrix, ranked(matrix, config), config, timer)
    ((prompt, solutions, tests, repeats),) = timer.calls
    assert sorted(solutions) == matrix.solutions[:3] and tests == matrix.tests[:2] and repeats == 7
    (pair,) = pairs
    assert pair.kind == "efficiency"
    assert pair.chosen == solutions[0] and pair.rejected == solutions[1]
    assert (pair.chosen_time_s, pair.rejected_time_s) == pytest.approx((0.010, 0.030))
    assert pair.margin == pytest.approx(0.020)

    slow_bar = PairConfig(method="codedpo", efficiency=True, speedup=4.0)
    assert (
        efficiency_pairs(matrix, ranked(matrix, slow_bar), slow_bar, RecordingTimer([0.01, 0.03, 0.02])) == []
    )


def test_codedpo_yields_both_kinds():
    config = PairConfig(method="codedpo", efficiency=True)
    matrix = make_matrix("p", EFFICIENCY)
    pairs = pairs_for_problem(matrix, ranked(matrix, config), config, RecordingTimer([0.01, 0.03, 0.02]))
    assert [p.kind for p in pairs] == ["correctness", "efficiency"]
    assert pairs[0].rejected == "    return x + 3"
    with pytest.raises(ValueError, match="timer"):
        pairs_for_problem(matrix, ranked(matrix, config), config)
