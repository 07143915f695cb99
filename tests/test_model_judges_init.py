"""Judges by name and the pairs they make: most confident first, sources attached."""

import pytest

from codepref.model_judges import JudgeSettings, build_judge, judged_pairs
from codepref.model_judges.consistency import ConsistencyFilter
from codepref.model_judges.implicit_reward import ImplicitRewardJudge
from codepref.model_judges.logit import LogitSelfJudge
from codepref.model_judges.self_rationalizing import SelfRationalizingJudge
from codepref.model_judges.self_reference import SelfReferenceJudge

PROMPT = "Name a prime number."
CANDIDATES = ["7", "8", "9", "7"]


def test_judges_are_built_by_name(tiny_judge_model):
    kinds = {
        "logit": LogitSelfJudge,
        "self_reference": SelfReferenceJudge,
        "self_rationalizing": SelfRationalizingJudge,
        "implicit_reward": ImplicitRewardJudge,
        "consistency": ConsistencyFilter,
    }
    for name, kind in kinds.items():
        assert isinstance(build_judge(JudgeSettings(name=name), tiny_judge_model, tiny_judge_model), kind)
    with pytest.raises(ValueError, match="needs a reference model"):
        build_judge(JudgeSettings(name="implicit_reward"), tiny_judge_model)
    with pytest.raises(ValueError, match="unknown judge 'oracle'"):
        JudgeSettings(name="oracle")
    with pytest.raises(ValueError, match="cannot be one of its own members"):
        JudgeSettings(name="consistency", members=("logit", "consistency"))


def test_pairs_are_the_most_confident_distinct_ones_with_their_sources(tiny_judge_model):
    judge = LogitSelfJudge(tiny_judge_model)
    sources = ["policy", "policy", "helper", "policy"]
    pairs = judged_pairs(judge, PROMPT, CANDIDATES, sources=sources, pairs_per_prompt=2)
    verdicts = sorted(judge.pair_verdicts(PROMPT, ["7", "8", "9"]), key=lambda v: -v.confidence)
    assert [p.confidence for p in pairs] == pytest.approx([v.confidence for v in verdicts[:2]])
    for pair in pairs:
        assert pair.chosen != pair.rejected and pair.preference >= 0.5
        assert pair.source == ("multi:helper" if "9" in (pair.chosen, pair.rejected) else "policy")
    assert judged_pairs(judge, PROMPT, CANDIDATES, min_confidence=1.01) == []
    assert judged_pairs(judge, PROMPT, ["7", "7"]) == []


def test_a_score_only_judge_pairs_its_best_against_the_rest(tiny_judge_model):
    judge = SelfRationalizingJudge(tiny_judge_model, k=2, rationale_tokens=6)
    scores = judge.score(PROMPT, ["7", "8", "9"])
    pairs = judged_pairs(judge, PROMPT, ["7", "8", "9"], pairs_per_prompt=5)
    best = max(range(3), key=lambda i: scores[i].score)
    assert all(p.chosen == ["7", "8", "9"][best] and p.margin > 0 for p in pairs)
