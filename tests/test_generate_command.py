"""`codepref generate`: samples for a benchmark, in the file `codepref eval` reads, resumable."""

from __future__ import annotations

import json
from collections import Counter

from typer.testing import CliRunner

from codepref.cli import app
from codepref.data import load_problems
from codepref.evaluate.harness import read_samples

runner = CliRunner()


def generate(model_dir, out, *options: str):
    arguments = ["generate", str(model_dir), "humaneval", "-o", str(out), "--backend", "hf", "--limit", "3"]
    result = runner.invoke(app, [*arguments, "--max-tokens", "8", *options])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_the_samples_file_is_what_eval_reads(tiny_model_dir, tmp_path):
    out = tmp_path / "samples.jsonl"
    lines = generate(tiny_model_dir, out, "-n", "2", "--style", "completion")
    problems = {p.task_id: p for p in load_problems("humaneval")}
    assert Counter(line["task_id"] for line in lines) == {f"HumanEval/{i}": 2 for i in range(3)}
    for line in lines:
        assert line["solution"].startswith(problems[line["task_id"]].prompt)
        assert line["style"] == "completion" and line["num_tokens"] <= 8
    samples = read_samples(out, problems, "humaneval")
    assert [s.program for s in samples] == [line["solution"] for line in lines]


def test_a_rerun_resumes_at_the_first_task_short_of_n_samples(tiny_model_dir, tmp_path):
    out = tmp_path / "samples.jsonl"
    first = generate(tiny_model_dir, out, "-n", "2", "--style", "completion")
    kept = [line for line in first if line["task_id"] != "HumanEval/2"]
    out.write_text("".join(json.dumps(line) + "\n" for line in kept) + '{"task_id": "HumanEval/2", "sol')
    again = generate(tiny_model_dir, out, "-n", "2", "--style", "completion")
    assert again[: len(kept)] == kept  # nothing already written is sampled again
    assert Counter(line["task_id"] for line in again) == {f"HumanEval/{i}": 2 for i in range(3)}
    more = generate(tiny_model_dir, out, "-n", "3", "--style", "completion")  # a larger n tops every task up
    assert Counter(line["task_id"] for line in more) == {f"HumanEval/{i}": 3 for i in range(3)}


def test_chat_style_keeps_the_prompt_imports_before_the_extracted_code(tiny_model_dir, tmp_path):
    lines = generate(tiny_model_dir, tmp_path / "chat.jsonl")  # auto: the tiny model has a chat template
    assert {line["style"] for line in lines} == {"chat"}
    has_imports = next(line for line in lines if line["task_id"] == "HumanEval/0")
    assert has_imports["solution"].startswith("from typing import List\n")


def test_an_unknown_style_is_one_clear_line(tiny_model_dir, tmp_path):
    result = runner.invoke(app, ["generate", str(tiny_model_dir), "humaneval", "--style", "poem"])
    assert result.exit_code != 0 and "--style" in result.output


def test_a_missing_model_is_one_clear_line(tmp_path):
    result = runner.invoke(app, ["generate", str(tmp_path / "nope"), "humaneval", "--backend", "hf"])
    assert result.exit_code == 2
    assert "error: cannot load" in result.output and "Traceback" not in result.output
