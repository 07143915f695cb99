import pytest
from steps_policy import ScriptedPolicy

from codepref.sandbox import Sandbox
from codepref.steps.step_dpo import StepDPOSettings, step_dpo_pairs
from codepref.steps.values import RolloutEngine, SampledVerifier, StepProblem

P = "def double(x):\n"
STEP = "    y = x * 2\n"
PROBLEM = StepProblem(
    "toy/double",
    P,
    ("\ndef ",),
    SampledVerifier(("assert double(1) == 2", "assert double(2) == 4"), (1, 1), "double"),
)
SETTINGS = StepDPOSettings(programs=2, rollouts=2, threshold=0.5)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(backend="process", workers=2) as box:
        yield box


def test_the_first_step_after_which_the_value_falls_is_paired_with_a_step_that_keeps_it(sandbox, tmp_path):
    policy = ScriptedPolicy({
        P: [STEP + "    return y\n", STEP + "    return y + 1\n"],  # 1 and 0: the prompt's value is 0.5
        P + STEP: ["    return y\n", "    return y + 1\n"],  # 1 and 0: still 0.5 after the first step
        P + STEP + "    return y\n": [""],  # the program is complete: value 1
    })  # fmt: skip
    engine = RolloutEngine(policy, sandbox, tmp_path / "rollouts.jsonl")
    (pair,) = step_dpo_pairs(PROBLEM, engine, SETTINGS)
    # The wrong program's value: 0.5 after its first step, 0 (its own score) after its second.
    assert (pair.prompt, pair.chosen, pair.rejected, pair.depth) == (
        P + STEP,
        "    return y\n",
        "    return y + 1\n",
        1,
    )
    assert (pair.chosen_value, pair.rejected_value, pair.chosen_visits, pair.rejected_visits) == (
        1.0,
        0.0,
        2,
        1,
    )
    assert (pair.rollouts, pair.executions) == (6, 2)  # two distinct programs in all


def test_no_pair_when_the_prompt_itself_is_below_the_threshold(sandbox, tmp_path):
    policy = ScriptedPolicy({P: ["    return x + 1\n", "    return 0\n"]})  # 0.5 and 0
    engine = RolloutEngine(policy, sandbox, tmp_path / "rollouts.jsonl")
    assert step_dpo_pairs(PROBLEM, engine, StepDPOSettings(programs=2, rollouts=2, threshold=0.75)) == []
    assert engine.sampled == 2


def test_no_pair_when_no_sampled_step_keeps_the_value(sandbox, tmp_path):
    policy = ScriptedPolicy({
        P: [STEP + "    return y\n", STEP + "    return y + 1\n"],
        P + STEP: ["    y = y + 0\n    return y\n", "    return y + 1\n"],  # 1 and 0
        P + STEP + "    y = y + 0\n": ["    return y - 1\n"],  # yet the good rollout's first step leads to 0
    })  # fmt: skip
    engine = RolloutEngine(policy, sandbox, tmp_path / "rollouts.jsonl")
    assert step_dpo_pairs(PROBLEM, engine, SETTINGS) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 0}, "threshold"),
        ({"rollouts": 0}, "rollouts"),
        ({"lines_per_step": 0}, "lines_per_step"),
    ],
)
def test_bad_step_dpo_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        StepDPOSettings(**options)
