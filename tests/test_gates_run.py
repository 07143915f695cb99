"""The bench runner: finished benchmarks are kept and skipped while their inputs are unchanged; a crash, a
timeout or a missing data file fails the benchmark and is retried on the next run."""

from __future__ import annotations

import json
from pathlib import Path

from codepref.gates.file import load_gates
from codepref.gates.run import RESULTS_NAME, run_benchmarks

# A benchmark script: counts the lines of its data file, records that it ran, writes its figures.
COUNTING_SCRIPT = """
import json, sys, time
data, out, sleep = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(out + "/runs.txt", "a") as runs:
    runs.write("ran\\n")
if sleep < 0:
    sys.exit(3)
time.sleep(sleep)
lines = open(data + "/items.txt").read().splitlines()
json.dump({"items": len(lines), "names": lines}, open(out + "/figures.json", "w"))
print("counted", len(lines), " ".join(sys.argv[4:]))
"""


def gates_text(
    sleep: float = 0.0, timeout_min: float = 1.0, minimum: int = 2, data: str = "items.txt"
) -> str:
    return f"""
code = ["count.py"]

[[benchmark]]
name = "count"
script = "count.py"
args = ["{{data}}", "{{out}}", "{sleep}", "--backend", "{{backend}}"]
figures = "figures.json"
timeout_min = {timeout_min}
data = ["{data}"]

[[benchmark.gate]]
name = "enough-items"
figure = "items"
kind = "at_least"
min = {minimum}
baseline = 3
date = "2026-11-29"
command = "codepref bench"
"""


def setup(tmp_path: Path, text: str) -> tuple[Path, Path]:
    (tmp_path / "count.py").write_text(COUNTING_SCRIPT)
    (tmp_path / "gates.toml").write_text(text)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (data / "items.txt").write_text("a\nb\nc\n")
    return tmp_path / "gates.toml", data


def runs(out: Path) -> int:
    return len((out / "count" / "runs.txt").read_text().splitlines())


def test_a_finished_benchmark_is_kept_and_skipped_on_rerun(tmp_path: Path) -> None:
    gates_path, data = setup(tmp_path, gates_text())
    out = tmp_path / "out"
    (first,) = run_benchmarks(load_gates(gates_path), out, data, echo=lambda _: None)
    assert first.status == "finished" and first.figures["items"] == 3 and not first.failures
    messages: list[str] = []
    (second,) = run_benchmarks(load_gates(gates_path), out, data, echo=messages.append)
    assert second.reused and runs(out) == 1
    assert any("inputs unchanged" in message for message in messages)
    kept = json.loads((out / RESULTS_NAME).read_text())
    assert kept["benchmarks"]["count"]["figures"]["items"] == 3 and kept["failures"] == []


def test_an_edited_threshold_is_judged_on_the_kept_figures_without_rerunning(tmp_path: Path) -> None:
    gates_path, data = setup(tmp_path, gates_text())
    out = tmp_path / "out"
    run_benchmarks(load_gates(gates_path), out, data, echo=lambda _: None)
    gates_path.write_text(gates_text(minimum=5))
    (result,) = run_benchmarks(load_gates(gates_path), out, data, echo=lambda _: None)
    assert result.reused and runs(out) == 1
    assert result.failures == ["count/enough-items: 3 is not >= 5"]


def test_changed_data_reruns_the_benchmark(tmp_path: Path) -> None:
    gates_path, data = setup(tmp_path, gates_text())
    out = tmp_path / "out"
    run_benchmarks(load_gates(gates_path), out, data, echo=lambda _: None)
    (data / "items.txt").write_text("a\n")
    (result,) = run_benchmarks(load_gates(gates_path), out, data, echo=lambda _: None)
    assert not result.reused and result.figures["items"] == 1
    assert runs(out) == 1  # a new fingerprint starts from an empty folder
    assert result.failures == ["count/enough-items: 1 is not >= 2"]


def test_another_sandbox_backend_reruns_the_benchmark(tmp_path: Path) -> None:
    gates_path, data = setup(tmp_path, gates_text())
    out = tmp_path / "out"
    run_benchmarks(load_gates(gates_path), out, data, backend="process", echo=lambda _: None)
    (result,) = run_benchmarks(load_gates(gates_path), out, data, backend="docker", echo=lambda _: None)
    assert not result.reused
    assert "--backend docker" in (out / "count" / "log.txt").read_text()


def test_a_missing_data_file_fails_the_benchmark_instead_of_skipping_it(tmp_path: Path) -> None:
    gates_path, data = setup(tmp_path, gates_text(data="absent.jsonl"))
    (result,) = run_benchmarks(load_gates(gates_path), tmp_path / "out", data, echo=lambda _: None)
    assert result.failures == [f"count: missing data file(s) in {data}: absent.jsonl"]
    (no_folder,) = run_benchmarks(load_gates(gates_path), tmp_path / "out", None, echo=lambda _: None)
    assert "no data folder given" in no_folder.failures[0]


def test_a_crashed_benchmark_fails_and_is_retried_on_the_next_run(tmp_path: Path) -> None:
    gates_path, data = setup(tmp_path, gates_text(sleep=-1))
    out = tmp_path / "out"
    (crashed,) = run_benchmarks(load_gates(gates_path), out, data, echo=lambda _: None)
    assert crashed.failures[0].startswith("count: exited with status 3")
    (again,) = run_benchmarks(load_gates(gates_path), out, data, echo=lambda _: None)
    assert not again.reused and runs(out) == 2  # the partial folder of the same inputs is kept for it


def test_a_benchmark_over_its_time_limit_is_stopped_and_fails(tmp_path: Path) -> None:
    gates_path, data = setup(tmp_path, gates_text(sleep=30, timeout_min=0.02))
    (result,) = run_benchmarks(load_gates(gates_path), tmp_path / "out", data, echo=lambda _: None)
    assert result.failures[0].startswith("count: timed out after 0.02 min")
    assert result.wall_s < 10
