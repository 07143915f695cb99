import json

import pytest
from typer.testing import CliRunner

from codepref.cli import app


def run(*args):
    return CliRunner().invoke(app, ["steps", *map(str, args)])


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--method", "beam"], "--method"),
        (["--budget", "0"], "budget"),
        (["--width", "0"], "width"),
        (["--min-gap", "1.5"], "min_gap"),
        (["--method", "step-dpo", "--threshold", "0"], "threshold"),
        (["--method", "step-dpo", "--rollouts", "0"], "rollouts"),
        (["--verifier", "hidden"], "verifier"),
        (["--lines-per-step", "0"], "lines_per_step"),
        (["--temperature", "-1"], "temperature"),
    ],
)
def test_a_bad_setting_stops_the_command_before_a_model_loads(tmp_path, options, named):
    result = run("pairs", "synth-validation", "--model", tmp_path, "-o", tmp_path / "out", *options)
    assert result.exit_code == 2 and named in result.output
    assert not (tmp_path / "out").exists()


def test_step_pairs_end_to_end_on_the_tiny_model_and_a_rerun_samples_and_runs_nothing(
    tiny_model_dir, tmp_path
):
    out = tmp_path / "out"
    args = [
        "pairs",
        "synth-validation",
        "--model",
        tiny_model_dir,
        "-o",
        out,
        "--limit",
        "2",
        "--budget",
        "4",
    ]
    args += ["--width", "2", "--example-weight", "1", "--max-tokens", "12", "--tests-per-problem", "2"]
    args += ["--engine", "hf", "--device", "cpu", "--backend", "process"]
    first = run(*args)
    assert first.exit_code == 0, first.output
    summary = json.loads((out / "summary.json").read_text())
    trees = [json.loads(p.read_text().splitlines()[0]) for p in sorted((out / "trees").iterdir())]
    assert [t["task_id"] for t in trees] == ["synth-validation/0", "synth-validation/1"]
    # A search stops at its budget, or earlier when every path has ended.
    assert summary["problems"] == 2 and summary["rollouts"] == sum(t["rollouts"] for t in trees) <= 8
    assert summary["sampled_this_run"] == summary["rollouts"]
    assert 1 <= summary["executions"] == summary["executed_this_run"] <= 8
    assert sorted(p.name for p in (out / "trees").iterdir()) == [
        "synth-validation_0.jsonl",
        "synth-validation_1.jsonl",
    ]
    pairs = (out / "pairs.jsonl").read_text()
    again = run(*args)
    assert again.exit_code == 0, again.output
    rerun = json.loads((out / "summary.json").read_text())
    assert (rerun["sampled_this_run"], rerun["executed_this_run"]) == (0, 0)
    cost = ("pairs", "rollouts", "executions", "rollouts_per_pair", "executions_per_pair")
    assert [rerun[k] for k in cost] == [summary[k] for k in cost]  # what the pairs cost, not this run
    assert (out / "pairs.jsonl").read_text() == pairs


def test_mix_writes_rows_at_the_ratio(tmp_path):
    instance, steps = tmp_path / "instance.jsonl", tmp_path / "steps.jsonl"
    instance.write_text(
        "".join(json.dumps({"prompt": f"p{i}", "chosen": "a", "rejected": "b"}) + "\n" for i in range(6))
    )
    steps.write_text(
        "".join(
            json.dumps({"prompt": f"s{i}", "chosen": "c", "rejected": "d", "depth": 1}) + "\n"
            for i in range(2)
        )
    )
    result = run("mix", instance, steps, "--ratio", "3:1", "-o", tmp_path / "mixed.jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "mixed.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and sum("depth" in r for r in rows) == 2
    bad = run("mix", instance, steps, "--ratio", "3", "-o", tmp_path / "x.jsonl")
    assert bad.exit_code == 2 and "--ratio" in bad.output
