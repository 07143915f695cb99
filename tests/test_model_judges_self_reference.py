"""The self-reference judge on the tiny model: own answer as reference, critique, verdict perplexities."""

import pytest

from codepref.model_judges.self_reference import VERDICTS, SelfReferenceJudge

PROMPT = "Name a prime number."
CANDIDATES = ["7", "8 is prime", "Nine."]


def make_judge(model, seed=0):
    return SelfReferenceJudge(model, reference_tokens=12, critique_tokens=12, seed=seed)


def test_the_strength_is_the_perplexity_difference_of_the_two_verdicts(tiny_judge_model):
    judge = make_judge(tiny_judge_model)
    verdict = judge.prefer_first(PROMPT, [(CANDIDATES[0], CANDIDATES[1])])[0]
    # Rebuild the decision context the judge scored and measure both verdict sentences one at a time.
    from codepref.model_judges.self_reference import CRITIQUE_TEMPLATE

    question = tiny_judge_model.instruction(
        CRITIQUE_TEMPLATE.format(
            principle=judge.principle,
            prompt=PROMPT,
            reference=judge.reference(PROMPT),
            first=CANDIDATES[0],
            second=CANDIDATES[1],
        )
    )
    critique = tiny_judge_model.sample([question], max_tokens=12, seed=0)[0][0]
    context = f"{question}{critique}\nVerdict: "
    first_wins, second_wins = (tiny_judge_model.completion_logprobs([context], [v])[0] for v in VERDICTS)
    assert verdict.strength == pytest.approx(first_wins.mean - second_wins.mean, abs=1e-5)
    assert 0.0 < verdict.probability < 1.0


def test_verdicts_are_repeatable_with_a_seed_and_symmetric_under_swapping(tiny_judge_model):
    first = make_judge(tiny_judge_model).score(PROMPT, CANDIDATES[:2])
    again = make_judge(tiny_judge_model).score(PROMPT, CANDIDATES[:2])
    assert [s.score for s in first] == pytest.approx([s.score for s in again], abs=1e-6)
    swapped = make_judge(tiny_judge_model).score(PROMPT, list(reversed(CANDIDATES[:2])))
    assert [s.score for s in first] == pytest.approx([s.score for s in reversed(swapped)], abs=1e-5)
    assert all(0.0 <= s.confidence <= 1.0 for s in first)


def test_pair_margins_carry_the_sign_of_the_preference(tiny_judge_model):
    for verdict in make_judge(tiny_judge_model).pair_verdicts(PROMPT, CANDIDATES):
        assert (verdict.margin > 0) == (verdict.probability > 0.5) or verdict.margin == 0
