"""Choosing the trust gate where the truth is known: pair precision and coverage per threshold."""

import math

import numpy as np
import pytest
from matrices import CODET, make_matrix, ranked

from codepref.pairs.config import PairConfig
from codepref.pairs.gate import gate_point, pick_threshold, sweep_gate

CONFIG = PairConfig(method="codet", pairs_per_problem=3, min_top_confidence=0.0)


@pytest.fixture
def problems():
    """CODET's matrix (its top confidence is 0.2; pairs (2, 3) and (0, 4)) and one with no signal."""
    matrices = [make_matrix("p", CODET), make_matrix("q", np.zeros((3, 2)))]
    return matrices, {m.task_id: ranked(m, CONFIG) for m in matrices}


# p#4 passes the hidden tests though the ranking puts it near the bottom.
TRUTH = {
    "p#0": True,
    "p#1": True,
    "p#2": True,
    "p#3": False,
    "p#4": True,
    "q#0": False,
    "q#1": False,
    "q#2": False,
}


def test_a_pair_is_precise_only_when_its_chosen_side_passes_and_its_rejected_side_fails(problems):
    matrices, rankings = problems
    point = gate_point(matrices, rankings, TRUTH, CONFIG)
    assert point["pairs"] == 2
    assert point["precision"] == 50.0
    assert (point["chosen_correct"], point["rejected_wrong"]) == (100.0, 50.0)
    assert point["coverage"] == 50.0  # the problem without signal yields no pair
    assert point["threshold"] == 0.0


def test_a_threshold_at_or_above_the_top_confidence_leaves_no_pairs(problems):
    matrices, rankings = problems
    low, high = sweep_gate(matrices, rankings, TRUTH, CONFIG, thresholds=(0.1, 0.2))
    assert (low["threshold"], low["pairs"]) == (0.1, 2)
    assert (high["threshold"], high["pairs"], high["coverage"]) == (0.2, 0, 0.0)
    assert math.isnan(high["precision"])


def test_the_smallest_threshold_whose_pairs_reach_the_target_is_picked():
    sweep = [
        {"threshold": 0.0, "pairs": 10, "precision": 40.0},
        {"threshold": 0.1, "pairs": 5, "precision": 70.0},
        {"threshold": 0.2, "pairs": 2, "precision": 90.0},
        {"threshold": 0.3, "pairs": 0, "precision": float("nan")},
    ]
    assert pick_threshold(sweep, 60.0) == 0.1
    assert pick_threshold(sweep, 90.0) == 0.2
    assert pick_threshold(sweep, 95.0) is None
