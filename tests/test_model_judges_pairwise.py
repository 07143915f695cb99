"""Pairwise verdicts: both orders asked and averaged, scores and confidences from them, votes from any judge."""

from collections.abc import Sequence

import numpy as np
import pytest

from codepref.model_judges.pairwise import OrderedVerdict, PreferenceJudge, pair_probabilities, sigmoid
from codepref.rank.judge import Judge, JudgedScore


class LengthJudgeWithPositionBias(PreferenceJudge):
    """Prefers the longer response, but always leans towards whichever one it reads first."""

    name = "length"

    def __init__(self, bias: float = 1.0) -> None:
        self.bias = bias
        self.asked: list[tuple[str, str]] = []

    def prefer_first(self, prompt: str, ordered_pairs: Sequence[tuple[str, str]]) -> list[OrderedVerdict]:
        self.asked.extend(ordered_pairs)
        strengths = [len(a) - len(b) + self.bias for a, b in ordered_pairs]
        return [OrderedVerdict(sigmoid(s), s) for s in strengths]


class FixedScores(Judge):
    name = "fixed"

    def __init__(self, scores: list[float]) -> None:
        self.scores = scores

    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        return [JudgedScore(s, 1.0) for s in self.scores]


def test_every_pair_is_asked_in_both_orders_in_one_batch():
    judge = LengthJudgeWithPositionBias()
    judge.pair_verdicts("p", ["a", "bb", "ccc"])
    assert sorted(judge.asked) == sorted(
        [("a", "bb"), ("a", "ccc"), ("bb", "ccc"), ("bb", "a"), ("ccc", "a"), ("ccc", "bb")]
    )


def test_a_position_bias_cancels_between_the_two_orders():
    verdict = LengthJudgeWithPositionBias(bias=3.0).pair_verdicts("p", ["xx", "yy"])[0]
    assert (
        verdict.details["forward"] > 0.9 and verdict.details["swapped"] > 0.9
    )  # each order favours its first
    assert verdict.probability == pytest.approx(0.5) and verdict.margin == pytest.approx(0.0)
    assert verdict.confidence == pytest.approx(0.0)
    assert verdict.details["order_agreement"] < 0.2


def test_swapping_candidates_swaps_their_scores_and_keeps_confidences_in_range():
    judge = LengthJudgeWithPositionBias(bias=0.5)
    forward = judge.score("p", ["a", "bbb", "cc"])
    backward = judge.score("p", ["cc", "bbb", "a"])
    assert [s.score for s in forward] == pytest.approx([s.score for s in reversed(backward)])
    assert forward[1].score > forward[2].score > forward[0].score
    assert all(0.0 <= s.confidence <= 1.0 for s in forward + backward)


def test_a_single_candidate_gets_a_neutral_unconfident_score():
    assert LengthJudgeWithPositionBias().score("p", ["only"]) == [
        JudgedScore(score=0.5, confidence=0.0, details={"comparisons": 0})
    ]


def test_probabilities_outside_the_unit_interval_are_refused():
    class Broken(PreferenceJudge):
        def prefer_first(self, prompt, ordered_pairs):
            return [OrderedVerdict(1.5, 0.0) for _ in ordered_pairs]

    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        Broken().pair_verdicts("p", ["a", "b"])


def test_pair_probabilities_turn_scores_into_hard_votes_and_keep_judge_probabilities():
    votes = pair_probabilities(FixedScores([2.0, 1.0, 2.0]), "p", ["a", "b", "c"])
    assert votes.tolist() == [[0.5, 1.0, 0.5], [0.0, 0.5, 0.0], [0.5, 1.0, 0.5]]
    soft = pair_probabilities(LengthJudgeWithPositionBias(bias=0.0), "p", ["a", "bb"])
    assert soft[1, 0] == pytest.approx(sigmoid(1.0)) and np.allclose(soft + soft.T, 1.0)
