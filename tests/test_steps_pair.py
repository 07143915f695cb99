import json

import pytest
from datasets import load_dataset

from codepref.steps.pair import StepPair, mix_pairs, parse_ratio, read_step_pairs, write_step_pairs
from codepref.train.config import TrainConfig
from codepref.train.trainer import train

PROMPT = "def double(x):\n    y = x * 2\n"


def step_pair(i: int) -> StepPair:
    return StepPair(
        prompt=PROMPT.replace("double", f"double_{i}"),
        chosen="    return y\n",
        rejected="    return y + 1\n",
        task_id=f"toy/{i}",
        method="mcts" if i % 2 else "step-dpo",
        depth=1,
        chosen_value=0.75,
        rejected_value=0.25,
        chosen_visits=4,
        rejected_visits=4,
        rollouts=16,
        executions=9,
    )


def test_step_pairs_round_trip_and_load_with_datasets(tmp_path):
    path = write_step_pairs(tmp_path / "pairs.jsonl", [step_pair(i) for i in range(4)])
    assert read_step_pairs(path) == [step_pair(i) for i in range(4)]
    rows = load_dataset("json", data_files=str(path), split="train")
    assert rows.num_rows == 4
    assert rows[0]["prompt"] == PROMPT.replace("double", "double_0") and rows[0]["value_gap"] == 0.5
    assert {"prompt", "chosen", "rejected", "rollouts", "executions"} <= set(rows.column_names)


def test_step_pairs_train_one_dpo_step_with_trl(tiny_model_dir, tmp_path):
    path = write_step_pairs(tmp_path / "pairs.jsonl", [step_pair(i) for i in range(4)])
    config = TrainConfig(loss="dpo", max_steps=1, batch_size=4, warmup_steps=0, learning_rate=1e-3)
    result = train(path, str(tiny_model_dir), tmp_path / "model", config)
    assert result.steps == 1 and result.examples == 4
    assert (tmp_path / "model" / "model.safetensors").exists()


def test_a_step_pair_needs_a_known_method_and_two_different_steps():
    with pytest.raises(ValueError, match="method"):
        StepPair.from_row(step_pair(0).to_row() | {"method": "beam"})
    with pytest.raises(ValueError, match="two different steps"):
        StepPair.from_row(step_pair(0).to_row() | {"rejected": "    return y\n"})


def test_mixing_keeps_the_ratio_and_uses_all_of_the_scarcer_side():
    instance = [{"prompt": f"i{n}", "chosen": "a", "rejected": "b"} for n in range(10)]
    steps = [step_pair(n).to_row() for n in range(3)]
    mixed = mix_pairs(instance, steps, (2, 1), seed=1)
    assert sum("depth" in row for row in mixed) == 3 and len(mixed) == 9
    assert mix_pairs(instance, steps, (2, 1), seed=1) == mixed  # the seed fixes the draw and the order
    assert len(mix_pairs(instance, steps, (1, 0))) == 10
    assert len(mix_pairs(instance, steps, (0, 1))) == 3
    assert json.dumps(mixed)  # rows stay plain JSON


@pytest.mark.parametrize("text", ["1", "a:b", "-1:2", "0:0"])
def test_a_bad_ratio_is_refused(text):
    with pytest.raises(ValueError, match="ratio"):
        parse_ratio(text)
