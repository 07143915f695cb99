"""The loop's `steps` stage: step pairs from the round's sampled tests, mixed with its instance pairs."""

import json

import pytest
from data_dir import DATA_DIR as DATA
from steps_policy import ScriptedPolicy
from test_loop_code_loop import statuses, tiny_config

from codepref.loop.code_loop import Loop
from codepref.loop.stage_outputs import Generated, Pairs
from codepref.loop.step_stage import step_pairs_stage
from codepref.loop.validate import load_loop_config
from codepref.records import read_jsonl, write_jsonl
from codepref.sandbox import Sandbox
from codepref.steps.config import StepPairSettings
from codepref.tasks import Problem, make_task

P = "def double(x):\n"
A, B = "    y = x * 2\n", "    y = x + 1\n"
# The tree of tests/test_steps_mcts.py: step A's value 1 (both tests pass either way it goes on) beats B's.
POLICY = {
    P: [A + "    return y\n", B + "    return y\n"],
    P + A: ["    return y\n", "    return y + 1\n"],
    P + B: ["    return y\n", "    return y - 1\n"],
}
TASK = make_task(Problem("toy/double", "toy", P, "double", "    return x * 2\n"))


def generated(tests_file) -> Generated:
    return Generated("completion", str(tests_file), str(tests_file), 1, 2, 2)


def listed(pairs_file) -> Pairs:
    return Pairs(str(pairs_file), len(read_jsonl(pairs_file)), 0, 0, 1)


def run_stage(settings: StepPairSettings, tests_file, pairs_file, out) -> Pairs:
    """The stage on TASK with the scripted policy, a real sandbox, and no prompt examples."""
    with Sandbox(backend="process", workers=2) as sandbox:
        policy = ScriptedPolicy(POLICY)
        return step_pairs_stage(
            settings, [TASK], policy, sandbox, generated(tests_file), listed(pairs_file), 0, 0, out
        )


def instance_row(n: int) -> dict:
    return {"prompt": P, "chosen": f"    return x * 2  # {n}\n", "rejected": "    return x\n",
            "task_id": TASK.key, "kind": "correctness"}  # fmt: skip


def test_step_pairs_join_the_rounds_instance_pairs_at_the_ratio(tmp_path):
    tests = tmp_path / "tests.jsonl"
    write_jsonl(tests, [{"key": TASK.key, "prompt": "", "completions": [{"text": "double(1) == 2\n"},
                                                                           {"text": "double(2) == 4\n"}]}])  # fmt: skip
    instance = write_jsonl(tmp_path / "pairs.jsonl", [instance_row(n) for n in range(5)])
    settings = StepPairSettings(method="mcts", ratio="2:1", budget=8, width=2, min_visits=1)
    pairs = run_stage(settings, tests, instance, tmp_path / "out")
    made = read_jsonl(tmp_path / "out" / "pairs.jsonl")  # every step pair the search made
    assert any((r["depth"], r["prompt"], r["chosen"], r["rejected"]) == (0, P, A, B) for r in made)
    rows = read_jsonl(pairs.pairs_file)
    step_rows = [row for row in rows if "depth" in row]
    assert len(step_rows) == min(len(made), 5 // 2) and all(row in made for row in step_rows)
    assert pairs.step_pairs == len(step_rows) and pairs.pairs == len(rows) == 3 * len(step_rows)
    assert pairs.ranked_pairs == 2 * len(step_rows) and pairs.problems_with_pairs == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["method"] == "mcts" and summary["rollouts"] > 0 and summary["executions"] > 0


def test_a_verifier_with_nothing_to_check_leaves_the_problem_out(tmp_path):
    tests = write_jsonl(
        tmp_path / "tests.jsonl", [{"key": TASK.key, "prompt": "", "completions": [{"text": "?"}]}]
    )
    instance = write_jsonl(tmp_path / "pairs.jsonl", [instance_row(0)])
    settings = StepPairSettings(method="step-dpo", ratio="1:0")
    pairs = run_stage(settings, tests, instance, tmp_path / "out")
    assert (pairs.pairs, pairs.step_pairs) == (1, 0)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["problems"] == 0


@pytest.mark.docker
def test_a_loop_with_a_steps_section_runs_the_stage_and_skips_it_when_rerun(tiny_model_dir, tmp_path):
    config = tiny_config(tmp_path, tiny_model_dir)
    text = config.read_text() + "steps: {method: step-dpo, programs: 2, rollouts: 2, max_tokens: 8}\n"
    # The tiny model's own tests rarely survive extraction: the prompt's example keeps every problem verified.
    config.write_text(
        text.replace("matrix: {tests_per_sample: 5,", "matrix: {prompt_examples: 1, tests_per_sample: 5,")
    )
    first = Loop(load_loop_config(config), str(DATA)).run()
    assert statuses(first)["1/steps"] == "ran"
    stage = tmp_path / "cpu-tiny" / "round-1" / "steps"
    summary = json.loads((stage / "summary.json").read_text())
    assert summary["method"] == "step-dpo" and summary["rollouts"] > 0 and summary["executions"] > 0
    again = Loop(load_loop_config(config), str(DATA)).run()
    assert statuses(again)["1/steps"] == "skipped"


def test_chat_style_samples_are_refused_with_one_line(tmp_path):
    chat = Generated("chat", "unused", "unused", 1, 2, 2)
    with pytest.raises(ValueError, match="need completion-style prompts"):
        step_pairs_stage(StepPairSettings(), [TASK], ScriptedPolicy(POLICY), None, chat, None, 0, 0, tmp_path)
