"""DSTC's minimax selection (Liu et al., 2024, arXiv 2411.13611; its method section: "minimax selection"
followed by "code-test concatenation").

With r[j, k] = 1 when solution j passes test k, over J solutions:

    chosen solution   j' = argmax_j  sum_k r[j, k]                         (the solution passing most tests)
    chosen test       k' = argmin_k  sum_j r[j, k]  subject to r[j', k] = 1  (the hardest test j' passes)
    rejected test     k* = argmax_k  sum_j r[j, k]  subject to sum_j r[j, k] < J
                                                    (the most-passed test that some solution fails)
    rejected solution j* = a solution with r[j*, k*] = 0

and each side of the preference pair is the solution followed by its test. Whether or not a sampled test is
right, the chosen text is a program that passes its own assertion and the rejected one a program that
fails its own, so the pair stays valid when tests are wrong.

What the paper leaves open, and what this module does:
  * Which solution failing k* is rejected: the one passing the fewest tests (the mirror image of the
    chosen side's argmax), so the rejected side is as clearly wrong as the data allows.
  * Ties in every argmax/argmin: broken by one seeded random permutation, so `Ranking.order[0]` is j'.
  * Duplicate tests: the per-solution sums count a deduplicated test as many times as it was sampled
    (pass `test_counts`), as on the undeduplicated matrix; per-test sums count solutions, so are unaffected.
  * No pair exists when j' passes no test or every test is passed by every solution; `select_pair` then
    returns None. j* may be j' itself when j' is the only solution failing k*: the pair is still consistent
    (j' passes k' and fails k*), and the pairs stage drops pairs whose texts coincide.

As a ranker, DSTC scores a solution by its (weighted) number of passed tests and a test by the number of
solutions passing it; confidence is the share of (weighted) tests passed. It has no consensus sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codepref.rank import Ranking, as_pass_matrix, order_by_score, weights_for_tests


@dataclass(frozen=True)
class DSTCPair:
    """Indices of one minimax selection: each side is a solution concatenated with a test."""

    chosen_solution: int
    chosen_test: int
    rejected_solution: int
    rejected_test: int


def rank_dstc(passed: np.ndarray, *, test_counts: np.ndarray | None = None, seed: int = 0) -> Ranking:
    """Rank solutions by how many sampled tests they pass (the chosen side of DSTC's minimax selection)."""
    matrix = as_pass_matrix(passed)
    weights = weights_for_tests(test_counts, matrix.shape[1])
    scores = matrix.astype(np.float64) @ weights
    total = weights.sum()
    return Ranking(
        solution_scores=scores,
        order=order_by_score(scores, seed),
        test_scores=matrix.sum(axis=0).astype(np.float64),
        confidence=scores / total if total > 0 else np.zeros(matrix.shape[0]),
        groups=None,
    )


def select_pair(
    passed: np.ndarray, *, test_counts: np.ndarray | None = None, seed: int = 0
) -> DSTCPair | None:
    """DSTC's minimax selection of (chosen solution, chosen test, rejected solution, rejected test)."""
    matrix = as_pass_matrix(passed)
    num_solutions, num_tests = matrix.shape
    if num_solutions == 0 or num_tests == 0:
        return None
    ranking = rank_dstc(matrix, test_counts=test_counts, seed=seed)
    passes_per_test = ranking.test_scores
    # Seeded, independent tie order for the test-side choices.
    test_order = np.random.default_rng([seed, 1]).permutation(num_tests)

    chosen_solution = int(ranking.order[0])
    passed_by_chosen = test_order[matrix[chosen_solution, test_order]]
    if passed_by_chosen.size == 0:
        return None
    chosen_test = int(passed_by_chosen[np.argmin(passes_per_test[passed_by_chosen])])

    failed_by_someone = test_order[passes_per_test[test_order] < num_solutions]
    if failed_by_someone.size == 0:
        return None
    rejected_test = int(failed_by_someone[np.argmax(passes_per_test[failed_by_someone])])

    # Worst first in the seeded order: reversing `order` keeps ties random and puts the lowest score first.
    worst_first = ranking.order[::-1]
    failing = worst_first[~matrix[worst_first, rejected_test]]
    rejected_solution = int(failing[0])
    return DSTCPair(chosen_solution, chosen_test, rejected_solution, rejected_test)


def concatenate(solution: str, test: str) -> str:
    """One side of a DSTC pair: the solution followed by the test it is judged against."""
    return f"{solution.rstrip()}\n\n{test.strip()}\n"
