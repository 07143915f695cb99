"""A general-text round on the tiny model: prompts from JSONL or datasets, judged pairs, then training on them."""

import json

import pytest

from codepref.model_judges.text_task import PromptSource, TextTaskSettings, load_prompts, text_round
from codepref.train.config import TrainConfig
from codepref.train.trainer import train

ROWS = [
    {"prompt": "Name a colour."},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fruit."}]},
    {"prompt": "Say hello."},
]


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_prompts_load_from_jsonl_and_from_a_datasets_source(prompts_file):
    expected = ["Name a colour.", "Name a fruit.", "Say hello."]
    assert load_prompts(PromptSource(path=str(prompts_file))) == expected
    from_datasets = PromptSource(dataset="json", data_files=str(prompts_file), limit=2)
    assert load_prompts(from_datasets) == expected[:2]


def test_bad_prompt_sources_are_named(tmp_path):
    with pytest.raises(ValueError, match="exactly one of 'path'"):
        PromptSource()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: needs a string field 'prompt'"):
        load_prompts(PromptSource(path=str(bad)))


def test_a_round_judges_refines_and_trains_with_the_judges_confidences(
    tiny_model_dir, tiny_judge_model, prompts_file, tmp_path
):
    settings = TextTaskSettings(
        prompts={"path": str(prompts_file)}, judge="logit", samples=3, refinement=True, max_tokens=6
    )
    summary = text_round(settings, str(tiny_model_dir), str(tiny_model_dir), tmp_path / "round", device="cpu")
    pairs = [json.loads(line) for line in (tmp_path / "round" / "pairs.jsonl").read_text().splitlines()]
    assert summary["prompts"] == 3 and summary["pairs"] == len(pairs) > 0
    assert set(summary["pairs_by_kind"]) <= {"judged", "refinement", "regression"}
    assert all(0.0 <= p["confidence"] <= 1.0 for p in pairs)
    # Trained on the context the policy answered: the request under the chat template.
    assert {p["prompt"] for p in pairs} <= {
        tiny_judge_model.instruction(x) for x in ("Name a colour.", "Name a fruit.", "Say hello.")
    }
    again = text_round(settings, str(tiny_model_dir), str(tiny_model_dir), tmp_path / "round", device="cpu")
    assert again["pairs"] == len(pairs)  # resumed: nothing judged twice
    cfg = TrainConfig(loss="noise_aware_dpo", max_steps=1, batch_size=2, learning_rate=1e-2, warmup_steps=0)
    result = train(tmp_path / "round" / "pairs.jsonl", str(tiny_model_dir), tmp_path / "model", cfg)
    assert result.steps == 1 and (tmp_path / "model" / "model.safetensors").exists()


def test_the_sami_loss_gets_records_from_the_constitution(tiny_model_dir, prompts_file, tmp_path):
    constitution = tmp_path / "constitution.yaml"
    constitution.write_text("principles:\n  - text: Be kind.\n    antithesis: Be rude.\n")
    settings = TextTaskSettings(
        prompts={"path": str(prompts_file)}, constitution=str(constitution), max_tokens=6
    )
    summary = text_round(
        settings, str(tiny_model_dir), str(tiny_model_dir), tmp_path / "r", loss="sami", device="cpu"
    )
    records = [json.loads(line) for line in (tmp_path / "r" / "pairs.jsonl").read_text().splitlines()]
    assert summary["pairs"] == 3 and all("Be rude." in r["counter_prompt"] for r in records)
    with pytest.raises(ValueError, match="needs text.constitution"):
        text_round(
            TextTaskSettings(prompts={"path": str(prompts_file)}),
            str(tiny_model_dir),
            str(tiny_model_dir),
            tmp_path / "s",
            loss="sami",
            device="cpu",
        )
