"""The implicit-reward judge: beta * log(pi / pi_ref), on the tiny model before and after a DPO step."""

import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from codepref.model_judges.implicit_reward import ImplicitRewardJudge
from codepref.model_judges.lm import JudgeModel
from codepref.train.config import TrainConfig
from codepref.train.trainer import completion_logprobs, train

PROMPT = "def add_one(x):\n"
GOOD, BAD = "    return x + 1\n", "    while True:\n        pass\n"


@pytest.fixture(scope="module")
def trained_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model after a few DPO steps preferring GOOD over BAD."""
    root = tmp_path_factory.mktemp("implicit")
    pairs = root / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": PROMPT, "chosen": GOOD, "rejected": BAD}) + "\n")
    cfg = TrainConfig(
        loss="dpo",
        learning_rate=5e-2,
        max_steps=4,
        batch_size=1,
        warmup_steps=0,
        lr_scheduler_type="constant",
    )
    train(pairs, str(tiny_model_dir), root / "out", cfg)
    return root / "out"


def test_a_policy_equal_to_its_reference_has_no_preference(tiny_judge_model):
    judge = ImplicitRewardJudge(tiny_judge_model, tiny_judge_model, beta=0.1)
    scores = judge.score(PROMPT, [GOOD, BAD])
    assert [s.score for s in scores] == [0.0, 0.0] and [s.confidence for s in scores] == [0.0, 0.0]
    assert judge.pair_verdicts(PROMPT, [GOOD, BAD])[0].probability == 0.5


def test_after_dpo_the_judge_prefers_what_was_trained_and_reports_beta_times_the_log_ratio(
    trained_dir, tiny_model_dir, tiny_judge_model
):
    judge = ImplicitRewardJudge(JudgeModel(str(trained_dir), device="cpu"), tiny_judge_model, beta=0.5)
    verdict = judge.pair_verdicts(PROMPT, [BAD, GOOD])[0]
    assert verdict.probability < 0.5 and verdict.margin < 0  # GOOD (second) wins
    scores = judge.score(PROMPT, [GOOD, BAD])
    assert scores[0].score > scores[1].score and all(0.0 <= s.confidence <= 1.0 for s in scores)

    # The reward, measured independently with the trainer's one-sequence-at-a-time log-probabilities.
    def logp(model_dir):
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        return completion_logprobs(model, AutoTokenizer.from_pretrained(model_dir), [PROMPT], [GOOD])[0]

    assert scores[0].score == pytest.approx(0.5 * (logp(trained_dir) - logp(tiny_model_dir)), abs=1e-3)


def test_beta_must_be_positive(tiny_judge_model):
    with pytest.raises(ValueError, match="beta must be positive"):
        ImplicitRewardJudge(tiny_judge_model, tiny_judge_model, beta=0.0)
