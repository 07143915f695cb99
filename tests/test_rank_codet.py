"""CodeT's dual execution agreement on matrices small enough to score by hand."""

import numpy as np
import pytest

from codepref.rank import rank

# Five solutions, four tests. Consensus sets: {0, 1} agree on tests {0, 1}; {2} passes all four; {4} passes
# test 2 alone; solution 3 passes nothing and forms no set.
PASSED = np.array(
    [
        [1, 1, 0, 0],
        [1, 1, 0, 0],
        [1, 1, 1, 1],
        [0, 0, 0, 0],
        [0, 0, 1, 0],
    ],
    dtype=bool,
)


def test_paper_score_is_solutions_times_tests():
    ranking = rank("codet", PASSED)
    # f(S) = |S_x| * |S_y|: 2 * 2, 2 * 2, 1 * 4, nothing, 1 * 1
    np.testing.assert_allclose(ranking.solution_scores, [4, 4, 4, 0, 1])
    np.testing.assert_allclose(ranking.confidence, np.array([4, 4, 4, 0, 1]) / 20)
    assert set(ranking.top_candidates()) == {0, 1, 2}
    assert list(ranking.order[-2:]) == [4, 3]
    assert ranking.groups[0] == ranking.groups[1] != ranking.groups[2]
    assert ranking.test_scores is None


def test_released_code_variant_uses_sqrt_of_solutions():
    ranking = rank("codet", PASSED, solution_weight="sqrt")
    np.testing.assert_allclose(ranking.solution_scores, [2 * np.sqrt(2), 2 * np.sqrt(2), 4, 0, 1])
    assert ranking.order[0] == 2
    assert list(ranking.top_candidates()) == [2]


def test_test_counts_weight_the_tests_agreed_on():
    # Test 2 was sampled three times: {2} now agrees on 1 + 1 + 3 + 1 = 6 test lines, {4} on 3.
    ranking = rank("codet", PASSED, test_counts=np.array([1, 1, 3, 1]))
    np.testing.assert_allclose(ranking.solution_scores, [4, 4, 6, 0, 3])
    assert ranking.order[0] == 2


def test_counts_equal_duplicated_test_columns():
    duplicated = np.concatenate([PASSED, PASSED[:, [2, 2]]], axis=1)
    by_columns = rank("codet", duplicated)
    by_counts = rank("codet", PASSED, test_counts=np.array([1, 1, 3, 1]))
    np.testing.assert_allclose(by_columns.solution_scores, by_counts.solution_scores)


def test_ties_are_broken_at_random_but_deterministically():
    firsts = {int(rank("codet", PASSED, seed=seed).order[0]) for seed in range(40)}
    assert firsts == {0, 1, 2}
    assert np.array_equal(rank("codet", PASSED, seed=7).order, rank("codet", PASSED, seed=7).order)


def test_no_passing_solution_means_no_trust():
    ranking = rank("codet", np.zeros((3, 2), dtype=bool))
    assert np.all(ranking.solution_scores == 0)
    assert np.all(ranking.confidence == 0)
    assert sorted(ranking.order) == [0, 1, 2]


@pytest.mark.parametrize(
    ("passed", "options", "message"),
    [
        (np.zeros(3, dtype=bool), {}, "2-D"),
        (np.array([[0, 2]]), {}, "0/1"),
        (PASSED, {"test_counts": np.array([1, 1])}, "test_counts"),
        (PASSED, {"test_counts": np.array([1, 0, 1, 1])}, "positive"),
        (PASSED, {"solution_weight": "cube"}, "solution_weight"),
    ],
)
def test_bad_input_is_rejected(passed, options, message):
    with pytest.raises(ValueError, match=message):
        rank("codet", passed, **options)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown ranking method"):
        rank("majority", PASSED)
