import pytest
from steps_policy import DOUBLE_HIDDEN, DOUBLE_PROMPT, ScriptedPolicy

from codepref.sandbox import Sandbox
from codepref.steps.values import (
    OracleVerifier,
    RolloutEngine,
    SampledVerifier,
    StepProblem,
    sampled_verifier,
)

PROMPT = DOUBLE_PROMPT
# double(1) == 2 counted once, double(2) == 4 counted three times.
VERIFIER = SampledVerifier(("assert double(1) == 2", "assert double(2) == 4"), (1, 3), "double")
PROBLEM = StepProblem("toy/double", PROMPT, ("\ndef ",), VERIFIER)
CONTINUATIONS = {
    PROMPT: [
        "    return x * 2\n",  # passes both: 4/4
        "    return x + 1\n",  # passes double(1) only: 1/4
        "    return 2\n",  # double(1) only: 1/4
        "    return x * 2\n",  # the first program again: not run again
    ],
    PROMPT + "    y = x\n": ["    return y\n", "    return y + y\n"],  # 0/4 and 4/4
}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(backend="process", workers=2) as box:
        yield box


def test_a_prefix_value_is_the_mean_counted_pass_share_of_its_executed_rollouts(sandbox, tmp_path):
    engine = RolloutEngine(ScriptedPolicy(CONTINUATIONS), sandbox, tmp_path / "rollouts.jsonl")
    assert engine.value(PROBLEM, PROMPT, 4) == pytest.approx((1 + 0.25 + 0.25 + 1) / 4)
    assert engine.value(PROBLEM, PROMPT + "    y = x\n", 2) == pytest.approx(0.5)
    assert (engine.sampled, engine.executed) == (6, 5)  # identical programs run once
    usage = engine.usage["toy/double"]
    assert (len(usage.rollouts), len(usage.programs)) == (6, 5)


def test_a_rerun_reads_every_rollout_and_score_from_the_cache(sandbox, tmp_path):
    cache = tmp_path / "rollouts.jsonl"
    first = RolloutEngine(ScriptedPolicy(CONTINUATIONS), sandbox, cache)
    values = [first.value(PROBLEM, PROMPT, 3), first.value(PROBLEM, PROMPT, 4)]  # the 4th sampled later
    assert first.sampled == 4
    again = RolloutEngine(ScriptedPolicy({}), sandbox, cache)  # a policy with nothing to say
    assert [again.value(PROBLEM, PROMPT, 3), again.value(PROBLEM, PROMPT, 4)] == values
    assert (again.sampled, again.executed) == (0, 0)
    assert len(again.usage["toy/double"].programs) == 3


def test_the_oracle_scores_the_same_rollouts_by_the_hidden_tests(sandbox, tmp_path):
    cache = tmp_path / "rollouts.jsonl"
    RolloutEngine(ScriptedPolicy(CONTINUATIONS), sandbox, cache).value(PROBLEM, PROMPT, 4)
    oracle = RolloutEngine(ScriptedPolicy({}), sandbox, cache)
    oracle_problem = StepProblem("toy/double", PROMPT, ("\ndef ",), OracleVerifier(DOUBLE_HIDDEN))
    assert oracle.value(oracle_problem, PROMPT, 4) == pytest.approx(0.5)  # x * 2 twice, of four
    assert (oracle.sampled, oracle.executed) == (0, 3)


def test_the_sampled_verifier_counts_tests_and_prompt_examples_as_the_matrix_stage_does():
    prompt = 'def double(x):\n    """Twice x.\n    >>> double(2)\n    4\n    """\n'
    raw = ["double(1) == 2\nassert double(5) == 10\n", "double(1) == 2\n", "nothing useful"]
    verifier = sampled_verifier(prompt, "double", raw, example_weight=30)
    assert dict(zip(verifier.tests, verifier.counts, strict=True)) == {
        "assert double(1) == 2": 2,
        "assert double(5) == 10": 1,
        "assert double(2) == 4": 30,
    }
    assert sampled_verifier(prompt, "double", raw).tests == (
        "assert double(1) == 2",
        "assert double(5) == 10",
    )
    with pytest.raises(ValueError, match="at least one test"):
        sampled_verifier(prompt, "double", ["nothing"], example_weight=0)
