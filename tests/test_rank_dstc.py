"""DSTC's minimax selection on a matrix worked through by hand."""

import numpy as np
import pytest

from codepref.rank import rank
from codepref.rank.dstc import DSTCPair, concatenate, select_pair

# passes per solution: 3, 3, 4, 3, 2; per test: 5, 2, 3, 5 (of J = 5 solutions)
PASSED = np.array(
    [
        [1, 0, 1, 1],
        [1, 1, 0, 1],
        [1, 1, 1, 1],
        [1, 0, 1, 1],
        [1, 0, 0, 1],
    ],
    dtype=bool,
)


def test_minimax_selection_by_hand():
    # j' = 2 (passes most); k' = 1, the least-passed test j' passes (2 solutions);
    # k* = 2, the most-passed test that someone fails (3 of 5; tests 0 and 3 are passed by all);
    # solutions failing k*: 1 (3 passes) and 4 (2 passes): the rejected one is 4, the weaker.
    for seed in range(5):
        assert select_pair(PASSED, seed=seed) == DSTCPair(2, 1, 4, 2)


def test_ranking_counts_passed_tests():
    ranking = rank("dstc", PASSED)
    np.testing.assert_allclose(ranking.solution_scores, [3, 3, 4, 3, 2])
    np.testing.assert_allclose(ranking.test_scores, [5, 2, 3, 5])
    np.testing.assert_allclose(ranking.confidence, np.array([3, 3, 4, 3, 2]) / 4)
    assert ranking.order[0] == 2 and ranking.order[-1] == 4
    assert ranking.groups is None


def test_counts_can_change_the_chosen_solution():
    # Test 2 sampled five times: solutions 0 and 3 now pass 1 + 5 + 1 = 7 lines, solution 2 passes 8,
    # solution 1 passes 3. Still j' = 2, but the rejected side among {1, 4} has 1 at 3 and 4 at 2 lines.
    counts = np.array([1, 1, 5, 1])
    ranking = rank("dstc", PASSED, test_counts=counts)
    np.testing.assert_allclose(ranking.solution_scores, [7, 3, 8, 7, 2])
    assert select_pair(PASSED, test_counts=counts) == DSTCPair(2, 1, 4, 2)


def test_no_pair_when_every_test_is_passed_by_everyone():
    assert select_pair(np.ones((3, 2), dtype=bool)) is None


def test_no_pair_when_the_best_solution_passes_nothing():
    assert select_pair(np.zeros((3, 2), dtype=bool)) is None
    assert select_pair(np.zeros((3, 0), dtype=bool)) is None


def test_ties_are_seeded():
    passed = np.array([[1, 0], [0, 1], [0, 0]], dtype=bool)  # solutions 0 and 1 tie, tests tie
    pairs = {select_pair(passed, seed=seed) for seed in range(30)}
    assert {pair.chosen_solution for pair in pairs} == {0, 1}
    for pair in pairs:
        assert passed[pair.chosen_solution, pair.chosen_test]
        assert not passed[pair.rejected_solution, pair.rejected_test]
    assert select_pair(passed, seed=3) == select_pair(passed, seed=3)


@pytest.mark.parametrize("seed", range(20))
def test_pair_is_consistent_on_random_matrices(seed):
    rng = np.random.default_rng(seed)
    passed = rng.random((8, 6)) < 0.5
    pair = select_pair(passed, seed=seed)
    if pair is None:
        return
    per_solution, per_test = passed.sum(axis=1), passed.sum(axis=0)
    assert per_solution[pair.chosen_solution] == per_solution.max()
    assert passed[pair.chosen_solution, pair.chosen_test]
    assert per_test[pair.chosen_test] == per_test[passed[pair.chosen_solution]].min()
    assert per_test[pair.rejected_test] == per_test[per_test < 8].max()
    assert not passed[pair.rejected_solution, pair.rejected_test]
    assert per_solution[pair.rejected_solution] == per_solution[~passed[:, pair.rejected_test]].min()


def test_concatenate_puts_the_test_after_the_solution():
    assert (
        concatenate("    return x + 1\n\n", "  assert f(1) == 2 ") == "    return x + 1\n\nassert f(1) == 2\n"
    )
