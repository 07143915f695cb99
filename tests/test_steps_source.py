import pytest
from steps_policy import DOUBLE_HIDDEN, DOUBLE_PROMPT, ScriptedPolicy

from codepref.records import write_jsonl
from codepref.sandbox import Sandbox
from codepref.steps.pair import StepPair
from codepref.steps.source import judge_pairs_file, oracle_precision, tasks_with_verifiers
from codepref.steps.values import RolloutEngine
from codepref.tasks import make_task

PROMPT, HIDDEN = DOUBLE_PROMPT, DOUBLE_HIDDEN
GOOD, BAD = "    y = x + x\n", "    y = x + 1\n"
# Every prefix is continued the same way, so a prefix's oracle value is decided by its step alone.
POLICY = {
    PROMPT + GOOD: ["    return y\n"],
    PROMPT + BAD: ["    return y\n"],
    PROMPT + "    z = 1\n": ["    return x * 2\n"],
    PROMPT + "    z = 2\n": ["    return x * 2\n"],
}


def pair(chosen: str, rejected: str) -> StepPair:
    return StepPair(PROMPT, chosen, rejected, "toy/double", "mcts", 0, 1.0, 0.0, 2, 2, 8, 4)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(backend="process", workers=2) as box:
        yield box


def test_a_step_pair_is_right_wrong_or_tied_by_the_hidden_tests_values_of_its_two_steps(sandbox, tmp_path):
    pairs = [pair(GOOD, BAD), pair(BAD, GOOD), pair("    z = 1\n", "    z = 2\n")]
    oracle = tasks_with_verifiers([make_task(HIDDEN)], "oracle", None, 0)
    engine = RolloutEngine(ScriptedPolicy(POLICY), sandbox, tmp_path / "oracle.jsonl")
    judged = oracle_precision(pairs, oracle, engine, rollouts=2)
    assert (judged["right"], judged["wrong"], judged["tied"]) == (1, 1, 1)
    assert judged["precision"] == pytest.approx(1 / 3)
    assert judged["oracle_rollouts"] == 8  # four prefixes, two rollouts each, the repeated pair sampled once
    assert oracle_precision([], oracle, engine, rollouts=2)["precision"] is None


def test_a_training_files_step_rows_are_judged_and_its_instance_rows_left_out(sandbox, tmp_path):
    instance = {
        "prompt": PROMPT,
        "chosen": "    return x * 2\n",
        "rejected": "    return x\n",
        "task_id": "toy/double",
    }
    rows = [pair(GOOD, BAD).to_row(), instance, pair(BAD, GOOD).to_row()]
    write_jsonl(tmp_path / "train.jsonl", rows)
    engine = RolloutEngine(ScriptedPolicy(POLICY), sandbox, tmp_path / "oracle.jsonl")
    tasks = [make_task(HIDDEN)]
    judged = judge_pairs_file(tmp_path / "train.jsonl", tasks, engine, rollouts=1, limit=5)
    assert (judged["step_pairs"], judged["right"], judged["wrong"], judged["tied"]) == (2, 1, 1, 0)
    one = judge_pairs_file(tmp_path / "train.jsonl", tasks, engine, rollouts=1, limit=1, seed=3)
    assert one["right"] + one["wrong"] == 1 and one["step_pairs"] == 2
