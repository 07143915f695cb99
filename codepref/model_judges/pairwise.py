"""Pairwise verdicts: the package's one pairwise judge, shared by every judge in this package.

A `PreferenceJudge` answers "is the first response better than the second?" for many ordered pairs at once
(`prefer_first`, one batch of forward passes). Every unordered pair is asked in both orders, so a judge with
a position bias cannot turn it into a preference: the pair's probability is the mean of the forward verdict
and the complement of the swapped one. From the pair verdicts it also satisfies the plain `Judge` interface:
a candidate's score is its mean win probability over its opponents.

Confidence has one meaning here: decisiveness, |2P - 1| for a pair (0 at a coin flip, 1 when one side is
certain), and for a candidate the mean decisiveness of its pairs. How far the two orders agree (a position
bias) is reported in a verdict's details as `order_agreement`; it does not enter the confidence, because the
averaged probability has already cancelled the bias. `oriented_pair` makes a verdict a `JudgedPair`.

`pair_probabilities` gives the same (N, N) matrix for any `Judge` (execution judges included), from its
scores when it has no probabilities of its own, so that judges of different kinds can vote on one pair.
"""

from __future__ import annotations

import itertools
import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codepref.rank.judge import POLICY_SOURCE, Judge, JudgedPair, JudgedScore


@dataclass(frozen=True)
class OrderedVerdict:
    probability: float  # P(first is better) from this one order
    strength: float  # the judge's own signed measure of the preference for the first (log scale)


@dataclass(frozen=True)
class PairVerdict:
    first: int  # candidate indices, first < second
    second: int
    probability: float  # P(first is better), both orders averaged
    margin: float  # the judge's signed strength towards `first`, both orders averaged
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """How decisive the verdict is: 0 at a coin flip, 1 when one side is certain."""
        return abs(2.0 * self.probability - 1.0)


class PreferenceJudge(Judge):
    """A judge built from batched pairwise verdicts, every pair asked in both orders."""

    name = "preference"

    @abstractmethod
    def prefer_first(self, prompt: str, ordered_pairs: Sequence[tuple[str, str]]) -> list[OrderedVerdict]:
        """One verdict per (first, second) pair, in order; implementations batch the forward passes."""

    def pair_verdicts(self, prompt: str, candidates: Sequence[str]) -> list[PairVerdict]:
        index_pairs = list(itertools.combinations(range(len(candidates)), 2))
        ordered = [(candidates[i], candidates[j]) for i, j in index_pairs]
        ordered += [(candidates[j], candidates[i]) for i, j in index_pairs]
        verdicts = self.prefer_first(prompt, ordered) if ordered else []
        if len(verdicts) != len(ordered):
            raise ValueError(
                f"{self.name}: prefer_first returned {len(verdicts)} verdicts for {len(ordered)}"
            )
        half = len(index_pairs)
        result = []
        for k, (i, j) in enumerate(index_pairs):
            forward, swapped = verdicts[k], verdicts[half + k]
            _check_probability(forward.probability, self.name)
            _check_probability(swapped.probability, self.name)
            result.append(
                PairVerdict(
                    first=i,
                    second=j,
                    probability=(forward.probability + 1.0 - swapped.probability) / 2.0,
                    margin=(forward.strength - swapped.strength) / 2.0,
                    details={
                        "forward": forward.probability,
                        "swapped": swapped.probability,
                        # 1 when swapping the positions changes nothing: the judge has no position bias here
                        "order_agreement": 1.0 - abs(forward.probability - (1.0 - swapped.probability)),
                    },
                )
            )
        return result

    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        count = len(candidates)
        if count == 1:
            return [JudgedScore(score=0.5, confidence=0.0, details={"comparisons": 0})]
        wins = np.zeros(count)
        decisiveness = np.zeros(count)
        for verdict in self.pair_verdicts(prompt, candidates):
            wins[verdict.first] += verdict.probability
            wins[verdict.second] += 1.0 - verdict.probability
            decisiveness[verdict.first] += verdict.confidence
            decisiveness[verdict.second] += verdict.confidence
        opponents = count - 1
        return [
            JudgedScore(
                score=float(wins[i] / opponents),
                confidence=float(decisiveness[i] / opponents),
                details={"comparisons": 2 * opponents, "judge": self.name},
            )
            for i in range(count)
        ]


def oriented_pair(
    prompt: str,
    candidates: list[str],
    verdict: PairVerdict,
    judge: str,
    *,
    source: str = POLICY_SOURCE,
    kind: str = "judged",
    task_id: str = "",
) -> JudgedPair:
    """The verdict's pair with the preferred response as `chosen` (the first one on an exact tie)."""
    first_wins = verdict.probability >= 0.5
    chosen, rejected = (verdict.first, verdict.second) if first_wins else (verdict.second, verdict.first)
    return JudgedPair(
        prompt=prompt,
        chosen=candidates[chosen],
        rejected=candidates[rejected],
        judge=judge,
        preference=verdict.probability if first_wins else 1.0 - verdict.probability,
        confidence=verdict.confidence,
        margin=verdict.margin if first_wins else -verdict.margin,
        source=source,
        kind=kind,
        task_id=task_id,
    )


def pair_probabilities(judge: Judge, prompt: str, candidates: Sequence[str]) -> np.ndarray:
    """(N, N) matrix, entry [i, j] = P(candidate i beats candidate j) under `judge`, diagonal 0.5.

    A `PreferenceJudge` gives its probabilities; any other judge votes from its scores: 1 for the higher
    score, 0.5 on a tie.
    """
    count = len(candidates)
    matrix = np.full((count, count), 0.5)
    if isinstance(judge, PreferenceJudge):
        for verdict in judge.pair_verdicts(prompt, candidates):
            matrix[verdict.first, verdict.second] = verdict.probability
            matrix[verdict.second, verdict.first] = 1.0 - verdict.probability
        return matrix
    scores = np.array([s.score for s in judge.score(prompt, candidates)], dtype=np.float64)
    return np.where(
        scores[:, None] > scores[None, :], 1.0, np.where(scores[:, None] < scores[None, :], 0.0, 0.5)
    )


def _check_probability(value: float, name: str) -> None:
    if not 0.0 <= value <= 1.0 or value != value:
        raise ValueError(f"{name}: a verdict probability must lie in [0, 1], got {value}")


def sigmoid(x: float) -> float:
    """The logistic function, without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
