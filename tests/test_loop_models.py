"""The prompt style: a property of the model's files, decided once per run and recorded."""

import json
import shutil

from codepref.generate import prompt_style_of
from codepref.loop.config import GenerationSettings
from codepref.loop.models import run_prompt_style


def copy_without_chat_template(source, target):
    shutil.copytree(source, target)
    (target / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((target / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (target / "tokenizer_config.json").write_text(json.dumps(config))
    return target


def test_the_style_comes_from_the_chat_template_not_the_path(tmp_path, tiny_model_dir):
    plain = copy_without_chat_template(tiny_model_dir, tmp_path / "some-instruct-chat-model")
    assert prompt_style_of(plain) == "completion"  # no chat template, whatever the name says
    trained = copy_without_chat_template(plain, tmp_path / "round-1" / "train" / "model")
    config = json.loads((trained / "tokenizer_config.json").read_text())
    config["chat_template"] = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    (trained / "tokenizer_config.json").write_text(json.dumps(config))
    assert prompt_style_of(trained) == "chat"


def test_the_runs_style_is_decided_once_and_reused(tmp_path, tiny_model_dir):
    run_dir = tmp_path / "run"
    auto = GenerationSettings(style="auto")
    plain = copy_without_chat_template(tiny_model_dir, tmp_path / "plain")
    assert prompt_style_of(tiny_model_dir) == "chat"
    assert run_prompt_style(auto, str(plain), run_dir) == "completion"
    recorded = json.loads((run_dir / "prompt_style.json").read_text())
    assert recorded["style"] == "completion"
    # A later start from another model (a resumed run) keeps the recorded style.
    assert run_prompt_style(auto, str(tiny_model_dir), run_dir) == "completion"
    assert run_prompt_style(GenerationSettings(style="chat"), str(plain), run_dir) == "chat"
