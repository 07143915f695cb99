"""The per-pair losses inside `codepref train`: the pair records' judge fields reach the loss, on the tiny model."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from codepref.train.config import TrainConfig
from codepref.train.trainer import train

FAST = {
    "learning_rate": 5e-2,
    "max_steps": 2,
    "batch_size": 4,
    "warmup_steps": 0,
    "lr_scheduler_type": "constant",
}
PREFERENCES = [0.6, 0.7, 0.8, 0.95]


def write_pairs(path, **per_pair):
    rows = [
        {
            "prompt": f"def add_{i}(x):\n",
            "chosen": f"    return x + {i}\n",
            "rejected": "    while True:\n        pass\n",
            "preference": PREFERENCES[i],
            "confidence": 2 * PREFERENCES[i] - 1,
            "counter_prompt": f"Do it wrong.\ndef add_{i}(x):\n",
            **{key: values[i] for key, values in per_pair.items()},
        }
        for i in range(4)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def logged_steps(out):
    return [r for r in json.loads((out / "training_log.json").read_text()) if "loss" in r]


def weights_changed(before_dir, after_dir) -> bool:
    before, after = load_file(before_dir / "model.safetensors"), load_file(after_dir / "model.safetensors")
    return any(not torch.equal(before[k], after[k]) for k in before)


def test_irepo_reads_each_pairs_soft_label(tiny_model_dir, tmp_path):
    # Policy == reference at step 1, so z = 0 and the loss is the mean of logit(p)^2 over the batch.
    out = tmp_path / "irepo"
    train(write_pairs(tmp_path / "pairs.jsonl"), str(tiny_model_dir), out, TrainConfig(loss="irepo", **FAST))
    expected = sum(math.log(p / (1 - p)) ** 2 for p in PREFERENCES) / len(PREFERENCES)
    first = logged_steps(out)[0]
    assert first["loss"] == pytest.approx(expected, rel=1e-4)
    assert "rewards/margins" in first
    assert weights_changed(tiny_model_dir, out)


def test_noise_aware_dpo_learns_nothing_from_zero_confidence_pairs(tiny_model_dir, tmp_path):
    unsure = write_pairs(tmp_path / "unsure.jsonl", confidence=[0.0] * 4)
    train(unsure, str(tiny_model_dir), tmp_path / "unsure", TrainConfig(loss="noise_aware_dpo", **FAST))
    assert not weights_changed(tiny_model_dir, tmp_path / "unsure")
    sure = write_pairs(tmp_path / "sure.jsonl", confidence=[1.0] * 4)
    train(sure, str(tiny_model_dir), tmp_path / "sure", TrainConfig(loss="noise_aware_dpo", **FAST))
    assert weights_changed(tiny_model_dir, tmp_path / "sure")
    assert logged_steps(tmp_path / "sure")[0]["loss"] == pytest.approx(math.log(2), rel=1e-5)


@pytest.mark.parametrize("loss", ["margin", "sami"])
def test_reference_free_losses_train_the_tiny_model(loss, tiny_model_dir, tmp_path):
    out = tmp_path / loss
    cfg = TrainConfig(loss=loss, loss_options={"chosen_nll_weight": 0.1} if loss == "margin" else {}, **FAST)
    result = train(write_pairs(tmp_path / "pairs.jsonl"), str(tiny_model_dir), out, cfg)
    assert result.steps == 2
    assert all(math.isfinite(r["loss"]) for r in logged_steps(out))
    assert weights_changed(tiny_model_dir, out)
    assert json.loads((out / "train_config.json").read_text())["resolved"]["loss_type"] == loss


def test_a_pairs_file_without_the_losss_field_is_refused_by_name(tiny_model_dir, tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    with pytest.raises(ValueError, match=r"plain.jsonl: record 1 lacks field\(s\) confidence"):
        train(path, str(tiny_model_dir), tmp_path / "out", TrainConfig(loss="noise_aware_dpo", **FAST))


def test_per_pair_losses_are_known_to_the_config():
    assert TrainConfig(loss="irepo").trl_loss_type == "sigmoid" and TrainConfig(loss="irepo").per_pair
    assert not TrainConfig(loss="dpo").per_pair
    with pytest.raises(ValueError, match="loss_options: unknown field"):
        TrainConfig(loss="margin", loss_options={"margin": 1})
