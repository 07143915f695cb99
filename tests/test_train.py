import json
import re
from dataclasses import fields

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig
from typer.testing import CliRunner

from codepref.train.config import DPO_LOSS_TYPES, TrainConfig, load_train_config
from codepref.train.trainer import (
    build_trl_config,
    completion_logprobs,
    load_preference_dataset,
    train,
)

FAST = {
    "learning_rate": 5e-2,
    "max_steps": 4,
    "batch_size": 4,
    "warmup_steps": 0,
    "lr_scheduler_type": "constant",
}


def make_pairs(n: int = 8) -> list[dict]:
    return [
        {
            "prompt": f"def add_{i}(x):\n",
            "chosen": f"    return x + {i}\n",
            "rejected": "    while True:\n        pass\n",
            "task_id": f"Toy/{i}",  # metadata columns ride along and must be dropped
            "chosen_pass_rate": 1.0,
        }
        for i in range(n)
    ]


@pytest.fixture
def pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in make_pairs()))
    return path


def pair_margins(model_dir, pairs) -> torch.Tensor:
    """logp(chosen) - logp(rejected) per pair under the model saved in `model_dir`."""
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prompts = [p["prompt"] for p in pairs]
    chosen = completion_logprobs(model, tokenizer, prompts, [p["chosen"] for p in pairs])
    rejected = completion_logprobs(model, tokenizer, prompts, [p["rejected"] for p in pairs])
    return torch.tensor(chosen) - torch.tensor(rejected)


def assert_weights_changed(before_dir, after_dir):
    before, after = load_file(before_dir / "model.safetensors"), load_file(after_dir / "model.safetensors")
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def assert_margin_raised(before_dir, after_dir):
    pairs = make_pairs()
    gain = pair_margins(after_dir, pairs) - pair_margins(before_dir, pairs)
    assert gain.mean() > 0.2, gain
    assert (gain > 0).all(), gain


def test_dpo_step_changes_weights_and_raises_margin(tiny_model_dir, pairs_file, tmp_path):
    out = tmp_path / "dpo"
    result = train(pairs_file, str(tiny_model_dir), out, TrainConfig(loss="dpo", **FAST))
    assert result.steps == 4 and result.examples == 8
    assert result.metrics["train_samples_per_second"] > 0
    assert_weights_changed(tiny_model_dir, out)
    assert_margin_raised(tiny_model_dir, out)
    # The log: one record per step with loss, reward margins and accuracy, plus the plot.
    steps = [r for r in json.loads((out / "training_log.json").read_text()) if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    assert all("rewards/margins" in r and "rewards/accuracies" in r for r in steps)
    assert steps[-1]["rewards/margins"] > steps[0]["rewards/margins"]
    assert (out / "training_log.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "tokenizer.json").exists() and json.loads((out / "train_config.json").read_text())[
        "loss"
    ] == "dpo"


def test_the_sft_loss_trains_the_chosen_side_alone_as_rejection_sampling_fine_tuning(
    tiny_model_dir, tmp_path
):
    """`loss: sft` (TRL's NLL on the chosen completions): the rejected side changes nothing it learns."""
    pairs = make_pairs()
    other_rejected = [p | {"rejected": "    return None\n"} for p in pairs]
    outs = []
    for name, rows in (("a", pairs), ("b", other_rejected)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(p) + "\n" for p in rows))
        outs.append(tmp_path / name)
        train(path, str(tiny_model_dir), outs[-1], TrainConfig(loss="sft", **FAST))
    first, second = (load_file(out / "model.safetensors") for out in outs)
    base_weights = load_file(tiny_model_dir / "model.safetensors")

    def largest_change(a, b) -> float:
        return max((a[k] - b[k]).abs().max().item() for k in a)

    # Equal up to float noise from other padding (seen: 3e-6), while training moved them far more.
    assert largest_change(first, second) < 1e-4 < 1e-2 < largest_change(first, base_weights)
    model = AutoModelForCausalLM.from_pretrained(outs[0], dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompts, chosen = [p["prompt"] for p in pairs], [p["chosen"] for p in pairs]
    gain = torch.tensor(completion_logprobs(model, tokenizer, prompts, chosen)) - torch.tensor(
        completion_logprobs(base, tokenizer, prompts, chosen)
    )
    assert (gain > 0).all(), gain


def test_kto_on_unpaired_records(tiny_model_dir, tmp_path):
    unpaired = tmp_path / "unpaired.jsonl"
    rows = []
    for p in make_pairs():
        rows.append(
            {"prompt": p["prompt"], "completion": p["chosen"], "label": True, "task_id": p["task_id"]}
        )
        rows.append(
            {"prompt": p["prompt"], "completion": p["rejected"], "label": False, "task_id": p["task_id"]}
        )
    unpaired.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "kto"
    result = train(unpaired, str(tiny_model_dir), out, TrainConfig(loss="kto", **{**FAST, "max_steps": 8}))
    assert result.steps == 8 and result.examples == 16
    assert_weights_changed(tiny_model_dir, out)
    assert_margin_raised(tiny_model_dir, out)
    assert any("rewards/chosen" in r for r in json.loads((out / "training_log.json").read_text()))


def test_lora_through_the_cli_with_a_yaml_config(tiny_model_dir, pairs_file, tmp_path):
    import typer

    from codepref.train.cli import train_command

    app = typer.Typer()  # the command alone (the full `codepref` app also needs the sandbox package)
    app.command()(train_command)
    config = tmp_path / "train.yaml"
    config.write_text(
        "loss: ipo\nbeta: 0.5\nlearning_rate: 0.05\nmax_steps: 4\nbatch_size: 4\nwarmup_steps: 0\n"
        "lr_scheduler_type: constant\nlora: {r: 8, alpha: 16, dropout: 0.0}\n"
    )
    out = tmp_path / "lora"
    run = CliRunner().invoke(
        app,
        ["--pairs", str(pairs_file), "--model", str(tiny_model_dir), "--config", str(config), "-o", str(out)],
    )
    assert run.exit_code == 0, run.output
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter["r"] == 8 and adapter["peft_type"] == "LORA"
    assert (out / "model.safetensors").exists()  # merged: loadable without peft, e.g. by vLLM
    assert not any("lora" in k for k in load_file(out / "model.safetensors"))
    assert_weights_changed(tiny_model_dir, out)
    assert_margin_raised(tiny_model_dir, out)


def test_loss_names_map_to_trl(tmp_path):
    for loss, trl_name in [("dpo", "sigmoid"), ("ipo", "ipo"), ("robust", "robust"), ("hinge", "hinge")]:
        args = build_trl_config(
            TrainConfig(loss=loss, label_smoothing=0.1), tmp_path, gradient_checkpointing=False
        )
        assert type(args).__name__ == "DPOConfig" and args.loss_type == [trl_name]
    kto = build_trl_config(
        TrainConfig(loss="kto", desirable_weight=1.3), tmp_path, gradient_checkpointing=False
    )
    assert type(kto).__name__ == "KTOConfig" and kto.loss_type == "kto" and kto.desirable_weight == 1.3
    with pytest.raises(ValueError, match="loss: must be one of .*, got 'dpoo'"):
        TrainConfig(loss="dpoo")


def test_the_dpo_loss_types_are_the_installed_trls_own():
    # TRL names its choices only in the field's help (KTOConfig's names none)
    (loss_type,) = [f for f in fields(DPOConfig) if f.name == "loss_type"]
    assert DPO_LOSS_TYPES == tuple(re.findall(r"`'(\w+)'`", loss_type.metadata["help"]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU defaults")
def test_bf16_and_gradient_checkpointing_off_on_cpu(tmp_path):
    args = build_trl_config(TrainConfig(), tmp_path, gradient_checkpointing=False)
    assert args.bf16 is False and args.gradient_checkpointing is False  # TRL would default both to True


def test_bad_inputs_get_one_line_errors(tmp_path):
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps(make_pairs(1)[0]) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not valid JSON"):
        load_preference_dataset(bad_json, unpaired_loss=False)
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"prompt": "p", "chosen": "c"}) + "\n")
    with pytest.raises(ValueError, match="record 1 lacks field"):
        load_preference_dataset(missing, unpaired_loss=False)
    unpaired = tmp_path / "unpaired.jsonl"
    unpaired.write_text(json.dumps({"prompt": "p", "completion": "c", "label": True}) + "\n")
    with pytest.raises(ValueError, match="--loss kto"):
        load_preference_dataset(unpaired, unpaired_loss=False)
    config = tmp_path / "c.yaml"
    config.write_text("loss: dpo\nlearnin_rate: 1\n")
    with pytest.raises(ValueError, match=r"c.yaml: unknown field\(s\) learnin_rate"):
        load_train_config(config)
    config.write_text("loss: [dpo\n")
    with pytest.raises(ValueError, match=r"c.yaml: line \d+: invalid YAML"):
        load_train_config(config)


def test_metadata_columns_are_dropped(pairs_file):
    dataset = load_preference_dataset(pairs_file, unpaired_loss=False)
    assert dataset.column_names == ["prompt", "chosen", "rejected"]


def test_mapping_options_are_read_as_yaml_and_anything_else_is_a_one_line_error(tmp_path):
    import typer

    from codepref.train.cli import parsed_mappings, train_command

    settings = parsed_mappings({"trl": "{max_length: 99}", "loss_options": None, "beta": 0.5})
    assert settings == {"trl": {"max_length": 99}, "loss_options": None, "beta": 0.5}
    app = typer.Typer()
    app.command()(train_command)
    run = CliRunner().invoke(
        app, ["--pairs", "p.jsonl", "--model", "m", "-o", str(tmp_path), "--trl", "[1, 2]"]
    )
    assert run.exit_code == 2 and "--trl: expected a YAML mapping" in run.output
    broken = CliRunner().invoke(
        app, ["--pairs", "p.jsonl", "--model", "m", "-o", str(tmp_path), "--trl", "{max_length: [1"]
    )
    assert broken.exit_code == 2 and "--trl: expected a YAML mapping" in broken.output
