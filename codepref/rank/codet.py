"""CodeT's dual execution agreement (Chen et al., 2022, arXiv 2207.10397; its method section,
"dual execution agreement").

Solutions that pass exactly the same set of sampled tests form one consensus set S = (S_x, S_y), S_x the
solutions and S_y the tests they all pass. The paper scores a set by f(S) = |S_x| * |S_y| (agreement among
solutions times agreement with tests) and takes the top choice from the best-scoring set. microsoft/CodeT's
released code (`src/agreement.py`) scores |S_y| * sqrt(|S_x|) instead, which damps large clusters of
identical wrong programs; `solution_weight="sqrt"` selects it.

Details fixed the way the released code does them:
  * |S_y| counts sampled test lines with multiplicity: a deduplicated test that was sampled c times counts
    c (pass `test_counts`). Duplicate solutions stay separate rows, each counting once in |S_x|.
  * A solution that passes no test forms no consensus set: it scores 0 and ranks below every set.
  * Ties: the released evaluation pools all solutions of equally scored sets and draws uniformly from the
    pool, so `order` breaks ties between (and within) tied sets by a seeded random permutation, and
    `Ranking.top_candidates()` is that pool.

Confidence is f(S) over its largest possible value (every solution agreeing on every test), so it is
comparable across problems: 1.0 means unanimous agreement on all sampled tests.
"""

from __future__ import annotations

import numpy as np

from codepref.rank import Ranking, as_pass_matrix, order_by_score, pass_pattern_groups, weights_for_tests

SOLUTION_WEIGHTS = ("count", "sqrt")


def rank_codet(
    passed: np.ndarray,
    *,
    test_counts: np.ndarray | None = None,
    seed: int = 0,
    solution_weight: str = "count",
) -> Ranking:
    """Rank solutions by the score of their consensus set.

    `solution_weight="count"` is the paper's |S_x| * |S_y|; `"sqrt"` is the released code's sqrt(|S_x|) * |S_y|.
    """
    if solution_weight not in SOLUTION_WEIGHTS:
        raise ValueError(f"solution_weight must be one of {SOLUTION_WEIGHTS}, got {solution_weight!r}")
    matrix = as_pass_matrix(passed)
    num_solutions, num_tests = matrix.shape
    weights = weights_for_tests(test_counts, num_tests)

    patterns, group_of = pass_pattern_groups(matrix)
    set_sizes = np.bincount(group_of, minlength=len(patterns)).astype(np.float64)
    tests_agreed = patterns.astype(np.float64) @ weights  # |S_y| per consensus set, with multiplicity
    if solution_weight == "sqrt":
        set_scores = tests_agreed * np.sqrt(set_sizes)
        best_possible = np.sqrt(num_solutions) * weights.sum()
    else:
        set_scores = tests_agreed * set_sizes
        best_possible = num_solutions * weights.sum()

    scores = set_scores[group_of]
    confidence = scores / best_possible if best_possible > 0 else np.zeros(num_solutions)
    return Ranking(
        solution_scores=scores,
        order=order_by_score(scores, seed),
        test_scores=None,
        confidence=np.clip(confidence, 0.0, 1.0),
        groups=group_of,
    )
