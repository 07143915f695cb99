"""`codepref bench --check` end to end on a real benchmark: HumanEval's reference solutions in the sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codepref.cli import app

REFERENCES_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_solutions.py"


def gates_text(minimum_passing: int) -> str:
    """Two gates on HumanEval's references: the problem count (always met) and a pass count that cannot be
    met when `minimum_passing` is over 164 (the pass count itself is not asserted: a loaded machine can
    time out a reference)."""
    return f"""
code = ["{REFERENCES_SCRIPT}"]

[[benchmark]]
name = "references"
script = "{REFERENCES_SCRIPT}"
args = ["--benchmarks", "humaneval", "--workers", "2", "--json", "{{out}}/figures.json"]
figures = "figures.json"
timeout_min = 10

[[benchmark.gate]]
name = "every-problem-checked"
figure = "humaneval.problems"
kind = "at_least"
min = 164
baseline = 164
date = "2026-11-29"
command = "codepref bench --check"

[[benchmark.gate]]
name = "impossible-pass-count"
figure = "humaneval.passing"
kind = "at_least"
min = {minimum_passing}
baseline = 164
date = "2026-11-29"
command = "codepref bench --check"

"""


@pytest.mark.docker
def test_check_exits_non_zero_naming_the_failed_gate_then_resumes_without_rerunning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_summary = tmp_path / "job-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(job_summary))
    gates, out = tmp_path / "gates.toml", tmp_path / "out"
    gates.write_text(gates_text(minimum_passing=165))  # one more than HumanEval has: must fail
    runner = CliRunner()
    failed = runner.invoke(app, ["bench", "--check", "--gates", str(gates), "--out", str(out)])
    assert failed.exit_code == 1, failed.output
    failures = failed.output.split("FAILED gates (1):")[1].strip().splitlines()
    assert len(failures) == 1 and re.fullmatch(
        r"references/impossible-pass-count: \d+ is not >= 165", failures[0]
    )
    results = json.loads((out / "results.json").read_text())
    assert results["failures"] == failures
    assert "❌" in job_summary.read_text() and (out / "summary.md").read_text() == job_summary.read_text()

    first_log = (out / "references" / "log.txt").stat().st_mtime_ns
    gates.write_text(gates_text(minimum_passing=0))  # the reviewed fix: judged again, nothing rerun
    passed = runner.invoke(app, ["bench", "--check", "--gates", str(gates), "--out", str(out)])
    assert passed.exit_code == 0, passed.output
    assert "inputs unchanged" in passed.output and "all gates passed" in passed.output
    assert (out / "references" / "log.txt").stat().st_mtime_ns == first_log  # the script did not run again


def test_without_check_a_failed_gate_is_reported_but_exits_zero(tmp_path: Path) -> None:
    gates = tmp_path / "gates.toml"
    gates.write_text(gates_text(minimum_passing=165).replace("\nscript", '\ndata = ["absent.jsonl"]\nscript'))
    result = CliRunner().invoke(
        app, ["bench", "--gates", str(gates), "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0
    assert f"references: missing data file(s) in {tmp_path}: absent.jsonl" in result.output


def test_a_bad_gates_file_is_one_line_naming_file_and_key(tmp_path: Path) -> None:
    gates = tmp_path / "gates.toml"
    gates.write_text(gates_text(minimum_passing=164).replace("min = 164", "minimum = 164", 1))
    result = CliRunner().invoke(app, ["bench", "--check", "--gates", str(gates)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {gates}: benchmark 'references' gate 'every-problem-checked': unknown key 'minimum' "
        "(known: name, figure, kind, date, command, min, baseline, item, why)"
    ]


def test_an_unknown_benchmark_name_is_refused(tmp_path: Path) -> None:
    gates = tmp_path / "gates.toml"
    gates.write_text(gates_text(minimum_passing=164))
    result = CliRunner().invoke(app, ["bench", "--gates", str(gates), "--only", "referencez"])
    assert result.exit_code == 2 and "no benchmark named 'referencez'" in result.output
