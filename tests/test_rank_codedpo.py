"""CodeDPO's self-validation score: hand-computed iterations and cross-checks against networkx."""

import networkx as nx
import numpy as np
import pytest

from codepref.rank import rank
from codepref.rank.codedpo import build_graph, scores_on_graph

# Solution 0 passes both tests, solution 1 only test 0.
TINY = np.array([[1, 1], [1, 0]], dtype=bool)


def test_one_iteration_by_hand():
    ranking = rank("codedpo", TINY, iterations=1)
    # code0 = 0.15 * 1 + 0.85 * (1 + 1) = 1.85, code1 = 0.15 + 0.85 * 1 = 1.0; tests likewise: 1.85, 1.0.
    # Both sides share one normalising factor (the maximum, 1.85).
    np.testing.assert_allclose(ranking.solution_scores, [1.0, 1.0 / 1.85])
    np.testing.assert_allclose(ranking.test_scores, [1.0, 1.0 / 1.85])
    assert list(ranking.order) == [0, 1]


def test_two_iterations_by_hand():
    ranking = rank("codedpo", TINY, iterations=2)
    # code0 = 0.15 * 1.85 + 0.85 * (1.85 + 1.0) = 2.7, code1 = 0.15 * 1.0 + 0.85 * 1.85 = 1.7225
    np.testing.assert_allclose(ranking.solution_scores[1] / ranking.solution_scores[0], 1.7225 / 2.7)
    # confidence: each solution's share of the total solution score (each is its own behaviour group)
    np.testing.assert_allclose(ranking.confidence, np.array([2.7, 1.7225]) / (2.7 + 1.7225))


def test_sequential_update_reads_fresh_solution_scores():
    ranking = rank("codedpo", TINY, iterations=1, update="sequential")
    # tests from the new code scores: test0 = 0.15 + 0.85 * (1.85 + 1.0) = 2.5725, test1 = 0.15 + 0.85 * 1.85
    np.testing.assert_allclose(ranking.test_scores, np.array([2.5725, 1.7225]) / 2.5725)
    np.testing.assert_allclose(ranking.solution_scores, np.array([1.85, 1.0]) / 2.5725)


def random_matrix(seed, shape=(12, 9), density=0.45):
    rng = np.random.default_rng(seed)
    passed = rng.random(shape) < density
    passed[3] = passed[1]  # identical rows must share a score
    passed[5] = False  # a solution passing nothing (an isolated node)
    passed[:, 2] = False  # a test nobody passes
    counts = rng.integers(1, 4, size=shape[1])
    return passed, counts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vectorised_ranker_matches_the_networkx_graph_update(seed):
    passed, counts = random_matrix(seed)
    raw = scores_on_graph(build_graph(passed, counts))
    code = np.array([raw[("code", i)] for i in range(passed.shape[0])])
    test = np.array([raw[("test", j)] for j in range(passed.shape[1])])
    scale = max(code.max(), test.max())
    ranking = rank("codedpo", passed, test_counts=counts)
    np.testing.assert_allclose(ranking.solution_scores, code / scale, rtol=1e-10)
    np.testing.assert_allclose(ranking.test_scores, test / scale, rtol=1e-10)
    assert ranking.solution_scores[1] == ranking.solution_scores[3]
    assert ranking.confidence[5] == 0.0


@pytest.mark.parametrize("seed", [0, 1])
def test_pagerank_formulation_matches_networkx_pagerank(seed):
    passed, counts = random_matrix(seed)
    expected = nx.pagerank(build_graph(passed, counts), alpha=0.85, weight="weight", tol=1e-13, max_iter=1000)
    ranking = rank("codedpo", passed, test_counts=counts, formulation="pagerank", iterations=300)
    np.testing.assert_allclose(
        ranking.solution_scores, [expected[("code", i)] for i in range(passed.shape[0])], rtol=1e-8
    )
    np.testing.assert_allclose(
        ranking.test_scores, [expected[("test", j)] for j in range(passed.shape[1])], rtol=1e-8
    )
    total = ranking.solution_scores.sum() + ranking.test_scores.sum()
    assert total == pytest.approx(1.0)


def test_counts_equal_duplicated_test_columns():
    passed, counts = random_matrix(4)
    duplicated = np.repeat(passed, counts, axis=1)
    np.testing.assert_allclose(
        rank("codedpo", duplicated).solution_scores,
        rank("codedpo", passed, test_counts=counts).solution_scores,
    )


def test_more_trusted_tests_beat_a_lone_wrong_cluster():
    # Three solutions agree on four tests; two others share one test only they pass.
    passed = np.zeros((5, 5), dtype=bool)
    passed[:3, :4] = True
    passed[3:, 4] = True
    ranking = rank("codedpo", passed)
    assert set(ranking.order[:3]) == {0, 1, 2}
    assert ranking.confidence[ranking.order[0]] > 0.95  # the agreeing three hold nearly all the score
    assert ranking.confidence[3] < 0.05
    # below the top, trust scales with score, so it follows the ranking
    scores = ranking.solution_scores
    np.testing.assert_allclose(ranking.confidence[3], ranking.confidence[0] * scores[3] / scores[0])


def test_nothing_passes_nothing_trusted():
    ranking = rank("codedpo", np.zeros((4, 3), dtype=bool))
    assert np.all(ranking.confidence == 0)
    assert len(set(ranking.solution_scores)) == 1


def test_bad_options():
    with pytest.raises(ValueError, match="formulation"):
        rank("codedpo", TINY, formulation="hits")
    with pytest.raises(ValueError, match="damping"):
        rank("codedpo", TINY, damping=1.5)


def test_confidence_never_contradicts_the_ranking():
    """A lower-ranked solution is never trusted more than a higher-ranked one (the gate stops early)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        passed = rng.random((int(rng.integers(2, 12)), int(rng.integers(1, 8)))) < 0.4
        ranking = rank("codedpo", passed)
        confidence = ranking.confidence[ranking.order]
        assert (np.diff(confidence) <= 1e-12).all()
