"""`codepref sandbox run|doctor` as a user drives them: JSON lines out, exit codes, one sandbox per call."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codepref.cli import app

runner = CliRunner()


@pytest.mark.docker
def test_run_prints_one_verdict_per_file_in_order_through_one_sandbox(tmp_path):
    writer = tmp_path / "writer.py"
    writer.write_text("open('/tmp/left-behind', 'w').write('x')\nprint('wrote')\n")
    reader = tmp_path / "reader.py"
    reader.write_text("import os\nprint(os.path.exists('/tmp/left-behind'))\n")
    defines_x = tmp_path / "defines_x.py"
    defines_x.write_text("x = 1\n")
    result = runner.invoke(
        app,
        [
            "sandbox",
            "run",
            str(writer),
            str(reader),
            str(defines_x),
            "--test",
            "assert x == 1",
            "--backend",
            "docker",
        ],
    )
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [v["job_id"] for v in verdicts] == [str(writer), str(reader), str(defines_x)]
    assert verdicts[0]["stdout"] == "wrote\n"
    assert verdicts[1]["stdout"] == "False\n"  # nothing leaks from one job to the next
    assert [v["status"] for v in verdicts] == ["failed", "failed", "passed"]  # the test needs x


@pytest.mark.docker
def test_run_exits_zero_whatever_the_verdict(tmp_path):
    program = tmp_path / "loop.py"
    program.write_text("while True:\n    pass\n")
    result = runner.invoke(app, ["sandbox", "run", str(program), "--timeout", "1", "--backend", "docker"])
    assert result.exit_code == 0
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "timeout"


def test_usage_errors_exit_non_zero(tmp_path):
    assert runner.invoke(app, ["sandbox", "run", str(tmp_path / "missing.py")]).exit_code == 2
    program = tmp_path / "ok.py"
    program.write_text("pass\n")
    assert runner.invoke(app, ["sandbox", "run", str(program), "--backend", "vm"]).exit_code == 2


@pytest.mark.docker
def test_doctor_reports_both_backends():
    result = runner.invoke(app, ["sandbox", "doctor"])
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert lines["docker"].split()[1] == "ok" and "process" in lines and "image" in lines
    assert "not enforced here: memory cgroup" in result.output
    assert "offline-" in result.output and "dockerfile-" in result.output
