"""`task: text` loops: config checks, and one judge -> train round on the tiny model on CPU."""

import json
from pathlib import Path

import pytest

from codepref.loop.code_loop import Loop
from codepref.loop.text_loop import TextLoop, make_loop
from codepref.loop.validate import ConfigError, config_from_dict, load_loop_config

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = [{"prompt": "Name a colour."}, {"messages": [{"role": "user", "content": "Say hi."}]}]


def text_config(tmp_path, model, **text):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS))
    return {
        "name": "text",
        "model": str(model),
        "task": "text",
        "runs_dir": str(tmp_path / "runs"),
        "generation": {"backend": "hf", "batch_size": 8},
        "text": {"prompts": {"path": str(prompts)}, "samples": 3, "max_tokens": 6, **text},
        "train": {
            "loss": "noise_aware_dpo",
            "learning_rate": 1e-2,
            "max_steps": 1,
            "batch_size": 2,
            "warmup_steps": 0,
        },
    }


def test_a_text_round_judges_then_trains_and_a_rerun_skips_both(tiny_model_dir, tmp_path):
    cfg = config_from_dict(text_config(tmp_path, tiny_model_dir, refinement=True), "test")
    loop = make_loop(cfg)
    assert isinstance(loop, TextLoop)
    result = loop.run()
    judged = next(o.summary for o in result.outcomes if o.name == "judge")  # paths as the run names them
    assert judged["prompts"] == 2 and judged["pairs"] > 0 and judged["judge"] == "logit"
    assert set(judged["pairs_by_source"]) <= {"policy", "refinement"}
    assert [r.round for r in result.rounds] == [0, 1] and result.rounds[1].trained
    assert (Path(result.rounds[1].model) / "model.safetensors").exists()
    pairs = [json.loads(line) for line in Path(judged["pairs_file"]).read_text().splitlines()]
    assert all(0.0 <= p["confidence"] <= 1.0 for p in pairs)
    rerun = make_loop(config_from_dict(text_config(tmp_path, tiny_model_dir, refinement=True), "test")).run()
    assert {o.status for o in rerun.outcomes} == {"skipped"}


def test_a_code_config_still_gets_the_code_loop(tmp_path):
    cfg = config_from_dict({"name": "code", "model": "tiny"}, "test")
    assert type(make_loop(cfg)) is Loop and cfg.task == "code" and cfg.text is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ({}, "text: prompts: give exactly one of 'path'"),
        ({"prompts": {"path": "nowhere.jsonl"}}, "text.prompts.path: no such file: nowhere.jsonl"),
        ({"judge": "oracle"}, "text.judge: must be one of logit"),
        ({"samples": 1}, "text.samples: must be >= 2"),
        ({"members": ["logit"]}, "text.members: must name two or more judges"),
        ({"promts": 1}, "text.promts: unknown setting"),
    ],
)
def test_bad_text_settings_get_one_line_naming_the_key(tmp_path, text, expected):
    data = text_config(tmp_path, tmp_path)
    data["text"] = {**data["text"], **text} if text else {"prompts": {}}
    with pytest.raises(ConfigError, match="^test: " + expected.replace("(", r"\(").replace(".", r"\.")):
        config_from_dict(data, "test")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"task": "poetry"}, "task: must be one of code, text, got 'poetry'"),
        ({"text": None}, "text: is missing (task: text needs text.prompts and a judge)"),
        ({"train": {"loss": "sami"}}, "text.constitution: is needed by the sami loss"),
        ({"task": "code"}, "text: applies to task: text only"),
    ],
)
def test_task_and_text_section_must_fit_together(tmp_path, change, expected):
    data = {**text_config(tmp_path, tmp_path), **change}
    if data["text"] is None:
        del data["text"]
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data, "test")
    assert f"test: {expected}" in str(caught.value).splitlines()


def test_the_example_text_config_loads(monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = load_loop_config(ROOT / "configs" / "cpu-text.yaml")
    assert cfg.task == "text" and cfg.text.judge == "logit" and cfg.train.loss == "noise_aware_dpo"
