"""The self-rationalizing judge: k sampled rationales per candidate, scores read from the score labels."""

import pytest

from codepref.model_judges.self_rationalizing import SCORE_CUE, SelfRationalizingJudge

PROMPT = "Explain what a list is in Python."
CANDIDATES = ["A mutable ordered sequence.", "A kind of fish."]


def make_judge(model, seed=0, k=3):
    return SelfRationalizingJudge(model, k=k, rationale_tokens=10, seed=seed)


def test_each_candidate_gets_k_judgments_with_expected_scores_on_the_scale(tiny_judge_model):
    judgments = make_judge(tiny_judge_model).judgments(PROMPT, CANDIDATES)
    assert [len(per) for per in judgments] == [3, 3]
    assert all(1.0 <= j.score <= 5.0 for per in judgments for j in per)
    scores = make_judge(tiny_judge_model).score(PROMPT, CANDIDATES)
    assert scores[0].score == pytest.approx(sum(j.score for j in judgments[0]) / 3)
    assert all(0.0 <= s.confidence <= 1.0 for s in scores)


def test_judgments_repeat_with_a_seed_and_change_with_another(tiny_judge_model):
    first = make_judge(tiny_judge_model, seed=1).judgments(PROMPT, CANDIDATES)
    assert make_judge(tiny_judge_model, seed=1).judgments(PROMPT, CANDIDATES) == first
    other = make_judge(tiny_judge_model, seed=2).judgments(PROMPT, CANDIDATES)
    assert [j.rationale for per in other for j in per] != [j.rationale for per in first for j in per]


def test_rationale_pairs_prefer_the_judgment_nearest_the_consensus(tiny_judge_model):
    judge = make_judge(tiny_judge_model, k=4)
    judgments = judge.judgments(PROMPT, CANDIDATES)
    pairs = judge.rationale_pairs(PROMPT, CANDIDATES, min_gap=0.0)
    assert pairs, "four sampled rationales should not all score alike"
    for pair in pairs:
        candidate = CANDIDATES[[judge.rating_context(PROMPT, c) for c in CANDIDATES].index(pair.prompt)]
        per = judgments[CANDIDATES.index(candidate)]
        consensus = sum(j.score for j in per) / len(per)
        by_text = {j.text(): j for j in per}
        assert abs(by_text[pair.chosen].score - consensus) <= abs(by_text[pair.rejected].score - consensus)
        assert pair.chosen.rsplit(SCORE_CUE, 1)[1].isdigit() and pair.kind == "rationale"
        assert 0.0 <= pair.confidence <= 1.0 and 0.5 <= pair.preference <= 1.0


def test_fewer_than_two_judgments_are_refused(tiny_judge_model):
    with pytest.raises(ValueError, match="k must be at least 2"):
        SelfRationalizingJudge(tiny_judge_model, k=1)
