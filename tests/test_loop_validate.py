"""Reading a loop config: the whole file is checked up front, one line per bad value, no traceback."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from codepref.loop.validate import ConfigError, config_from_dict, load_loop_config

ROOT = Path(__file__).resolve().parents[1]


def errors_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_loop_config(path)
    return [line.replace(f"{tmp_path}/", "") for line in str(caught.value).splitlines()]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rounds: two", "bad.yaml: rounds: must be an integer, got 'two'"),
        ("eval: {sets: 5}", "bad.yaml: eval.sets: must be a non-empty list"),
        (
            "pairs: {method: bogus}",
            "bad.yaml: pairs.method: must be one of codet, codedpo, dstc, got 'bogus'",
        ),
        ("generation: {solutions: 0}", "bad.yaml: generation.solutions: must be >= 2"),
        (
            "train: {lora: 3}",
            "bad.yaml: train.lora: must be true, false or a mapping of LoRA settings, got 3",
        ),
        (
            "train_problems: {benchmark: mbppp, split: train}",
            "bad.yaml: train_problems.benchmark: unknown benchmark 'mbppp'",
        ),
        (
            "train_problems: {benchmark: humaneval, split: train}",
            "bad.yaml: train_problems.split: humaneval has no splits",
        ),
        ("generation: {sollutions: 3}", "bad.yaml: generation.sollutions: unknown setting; known: backend"),
        ("eval: {sets: [{benchmark: mbpp, splitt: test}]}", "bad.yaml: eval.sets[0].splitt: unknown setting"),
        ("pairs: {fallback: maybe}", "bad.yaml: pairs.fallback: must be one of none, executability"),
        ("train: {loss: dop}", "bad.yaml: train.loss: must be one of aot, aot_unpaired, apo_down"),
        ("eval: {ks: [1, 10]}", "bad.yaml: eval.ks: each k must lie in 1..1"),
        ("sandbox: {backend: rey}", "bad.yaml: sandbox.backend: must be one of auto, docker, process, ray"),
        ("matrix: {prompt_examples: -1}", "bad.yaml: matrix.prompt_examples: must be >= 0"),
        (
            "sandbox: {address: 'head:6379'}",
            "bad.yaml: sandbox.address: is only read with sandbox.backend: ray",
        ),
    ],
)
def test_each_bad_value_gets_one_line_naming_the_key(tmp_path, text, expected):
    (line,) = errors_of(tmp_path, f"name: x\nmodel: tiny\n{text}\n")
    assert line.startswith(expected), line


def test_every_bad_value_is_reported_at_once(tmp_path):
    lines = errors_of(tmp_path, "model: tiny\nrounds: two\ngeneration: {tests: x}\ntrain: {lora: 3}\n")
    assert [line.split(": ")[1] for line in lines] == ["name", "rounds", "generation.tests", "train.lora"]


def test_values_are_checked_once_every_type_is_right(tmp_path):
    lines = errors_of(
        tmp_path,
        "name: x\nmodel: tiny\nrounds: -1\ngeneration: {solutions: 0}\npairs: {method: bogus, fallback: maybe}\n",
    )
    assert [line.split(": ")[1] for line in lines] == ["pairs.method", "pairs.fallback"]  # sections first
    lines = errors_of(tmp_path, "name: x\nmodel: tiny\nrounds: -1\ngeneration: {solutions: 0}\n")
    assert [line.split(": ")[1] for line in lines] == ["rounds", "generation.solutions"]


def test_a_directory_a_missing_file_and_bad_yaml_are_named(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_loop_config(tmp_path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_loop_config(tmp_path / "absent.yaml")
    (tmp_path / "bad.yaml").write_text("name: x\nmodel: [\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+: invalid YAML"):
        load_loop_config(tmp_path / "bad.yaml")
    assert errors_of(tmp_path, "- a list\n") == ["bad.yaml: expected a mapping of settings, got list"]


def test_the_run_command_prints_one_line_per_problem_and_no_traceback(tmp_path):
    from codepref.cli import app

    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nmodel: tiny\nrounds: two\ntrain: {lora: 3}\n")
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert result.output.count("error:") == 2 and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["run", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output


def test_example_configs_load():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.pop("efficacy", None)  # benchmarks/efficacy.py's own section around a loop config
        cfg = config_from_dict(data, str(path))
        assert cfg.rounds >= 1 and cfg.eval.sets, path
