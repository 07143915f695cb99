"""Rankers: turn one problem's N x M pass matrix (sampled solutions x sampled tests) into a ranking.

Every ranker is a pure function of the matrix (plus options) and returns a `Ranking`. Ties are broken by a
seeded random permutation, so a ranking is deterministic given `seed`, and a ranker never favours a solution
for its position in the sample list.

    from codepref.rank import rank
    ranking = rank("codet", passed, test_counts=counts)
    best = ranking.order[0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Ranking:
    """What a ranker concluded about one problem's solutions (and, where it scores them, its tests)."""

    solution_scores: np.ndarray  # (N,) float, higher is better
    order: np.ndarray  # solution indices, best first, ties broken as the method prescribes
    test_scores: np.ndarray | None  # (M,) where the method scores tests
    confidence: np.ndarray  # (N,) in [0, 1]: how much the method trusts each solution
    groups: np.ndarray | None  # (N,) consensus-set id per solution where the method has consensus sets

    def top_candidates(self) -> np.ndarray:
        """Indices of every solution tied with the best score: the pool the top choice is drawn from.

        The expected pass@1 of a ranker is the share of correct solutions in this pool (how CodeT's
        released evaluation scores tied consensus sets), which is steadier than one seeded draw.
        """
        scores = self.solution_scores
        if scores.size == 0:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(scores == scores[self.order[0]])


def as_pass_matrix(passed: np.ndarray) -> np.ndarray:
    """Validate and return `passed` as a 2-D bool array (0/1 integers are accepted)."""
    matrix = np.asarray(passed)
    if matrix.ndim != 2:
        raise ValueError(f"passed must be a 2-D (solutions x tests) matrix, got shape {matrix.shape}")
    if matrix.dtype != np.bool_:
        if not np.isin(matrix, (0, 1)).all():
            raise ValueError("passed must hold only booleans or 0/1 values")
        matrix = matrix.astype(bool)
    return matrix


def weights_for_tests(test_counts: np.ndarray | None, num_tests: int) -> np.ndarray:
    """Per-test multiplicity as float weights: a deduplicated test stands for `count` sampled test lines."""
    if test_counts is None:
        return np.ones(num_tests, dtype=np.float64)
    counts = np.asarray(test_counts)
    if counts.shape != (num_tests,):
        raise ValueError(f"test_counts must have shape ({num_tests},), got {counts.shape}")
    if (counts < 1).any():
        raise ValueError("test_counts must be positive: every test was sampled at least once")
    return counts.astype(np.float64)


def order_by_score(scores: np.ndarray, seed: int) -> np.ndarray:
    """Indices sorted by score, best first, ties in a seeded uniformly random order."""
    shuffled = np.random.default_rng(seed).permutation(scores.size)
    return shuffled[np.argsort(-scores[shuffled], kind="stable")]


def pass_pattern_groups(passed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group solutions that pass exactly the same set of tests.

    Returns (patterns, group_of): `patterns` is the (G, M) bool matrix of distinct rows and `group_of[i]` the
    row of `patterns` that solution i has. Rows are packed to bytes first so grouping costs O(N M / 8).
    """
    num_solutions, num_tests = passed.shape
    if num_tests == 0:
        return np.zeros((min(num_solutions, 1), 0), dtype=bool), np.zeros(num_solutions, dtype=np.int64)
    packed = np.packbits(passed, axis=1)
    _, first_rows, group_of = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    return passed[first_rows], group_of.reshape(-1).astype(np.int64)


Ranker = Callable[..., Ranking]

from codepref.rank.codedpo import rank_codedpo  # noqa: E402  (the rankers build on the helpers above)
from codepref.rank.codet import rank_codet  # noqa: E402
from codepref.rank.dstc import rank_dstc  # noqa: E402

RANKERS: dict[str, Ranker] = {"codet": rank_codet, "codedpo": rank_codedpo, "dstc": rank_dstc}


def rank(
    method: str, passed: np.ndarray, *, test_counts: np.ndarray | None = None, seed: int = 0, **options
) -> Ranking:
    """Rank one problem's solutions with the named method ("codet", "codedpo" or "dstc")."""
    try:
        ranker = RANKERS[method]
    except KeyError:
        raise ValueError(f"unknown ranking method {method!r}; choose one of {sorted(RANKERS)}") from None
    return ranker(passed, test_counts=test_counts, seed=seed, **options)


__all__ = ["RANKERS", "Ranking", "rank", "rank_codedpo", "rank_codet", "rank_dstc"]
