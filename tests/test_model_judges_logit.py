"""The logit self-judge on the tiny model: probabilities read from the answer labels' next-token logits."""

import itertools

import pytest
import torch

from codepref.model_judges.logit import LogitSelfJudge

PROMPT = "Write add(a, b) that returns the sum."
CANDIDATES = ["def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n", "pass"]


@pytest.fixture(scope="module")
def judge(tiny_judge_model):
    return LogitSelfJudge(tiny_judge_model)


def label_probability(model, context: str, label_ids: list[int]) -> float:
    """P(first label) among the two labels, from one unbatched forward pass."""
    ids = model.tokenizer(context, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model.model(ids).logits[0, -1].double()
    return torch.softmax(logits[label_ids], dim=0)[0].item()


def test_each_order_is_the_softmax_over_the_two_answer_labels(judge, tiny_judge_model):
    first, second = CANDIDATES[0], CANDIDATES[1]
    verdict = judge.pair_verdicts(PROMPT, [first, second])[0]
    forward = label_probability(tiny_judge_model, judge.context(PROMPT, first, second), judge.label_ids)
    swapped = label_probability(tiny_judge_model, judge.context(PROMPT, second, first), judge.label_ids)
    assert verdict.details["forward"] == pytest.approx(forward, abs=1e-5)
    assert verdict.details["swapped"] == pytest.approx(swapped, abs=1e-5)
    assert verdict.probability == pytest.approx((forward + 1 - swapped) / 2, abs=1e-5)


def test_scores_follow_the_candidates_when_their_order_is_swapped(judge):
    base = judge.score(PROMPT, CANDIDATES)
    for order in itertools.permutations(range(len(CANDIDATES))):
        permuted = judge.score(PROMPT, [CANDIDATES[i] for i in order])
        for position, i in enumerate(order):
            assert permuted[position].score == pytest.approx(base[i].score, abs=1e-5)
            assert permuted[position].confidence == pytest.approx(base[i].confidence, abs=1e-5)


def test_confidences_lie_in_the_unit_interval_and_are_the_probability_margin(judge):
    for verdict in judge.pair_verdicts(PROMPT, CANDIDATES):
        assert 0.0 <= verdict.confidence <= 1.0
        assert verdict.confidence == pytest.approx(abs(2 * verdict.probability - 1))
    assert all(0.0 <= s.confidence <= 1.0 for s in judge.score(PROMPT, CANDIDATES))


def test_labels_sharing_a_first_token_are_refused(tiny_judge_model):
    with pytest.raises(ValueError, match="share a first token"):
        LogitSelfJudge(tiny_judge_model, labels=("Answer A", "Answer B"))
