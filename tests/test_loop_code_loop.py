import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from data_dir import DATA_DIR as DATA  # must exist: no skip

from codepref.loop.code_loop import Loop
from codepref.loop.validate import load_loop_config
from codepref.sandbox import Job

ROOT = Path(__file__).resolve().parents[1]

CPU_CONFIG = ROOT / "tests" / "configs" / "loop-tiny.yaml"


def tiny_config(tmp_path: Path, model: Path) -> Path:
    """tests/configs/loop-tiny.yaml (one round, 3 MBPP train problems), on the test session's tiny model and a
    temporary runs directory."""
    text = CPU_CONFIG.read_text()
    text = text.replace("model: tiny", f"model: {model}").replace(
        "name: cpu-tiny", f"name: cpu-tiny\nruns_dir: {tmp_path}"
    )
    path = tmp_path / "cpu-tiny.yaml"
    path.write_text(text)
    return path


def statuses(result) -> dict[str, str]:
    return {f"{o.round}/{o.name}": o.status for o in result.outcomes}


@pytest.mark.docker
def test_one_round_on_cpu_resumes_after_a_kill(tiny_model_dir, tmp_path):
    config = tiny_config(tmp_path, tiny_model_dir)
    run_dir = tmp_path / "cpu-tiny"
    # 1. Start the run in a process of its own and kill it (SIGKILL, no cleanup) once training has begun.
    script = (
        "import typer; from codepref.loop.cli import run_command; app = typer.Typer(); "
        "app.command()(run_command); app()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(config), "--data-dir", str(DATA)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = run_dir / "round-1" / "train" / "inputs.json"
    deadline = time.time() + 240
    while not started.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert started.exists(), "the run did not reach the train stage"
    assert not (run_dir / "round-1" / "evaluate" / "stage.json").exists()

    # 2. Rerun: the finished stages are skipped, the interrupted one and those after it run.
    cfg = load_loop_config(config)
    result = Loop(cfg, str(DATA)).run()
    assert statuses(result) == {
        "0/evaluate": "skipped",
        "1/generate": "skipped",
        "1/matrix": "skipped",
        "1/rank": "skipped",
        "1/pairs": "skipped",
        "1/train": "ran",
        "1/evaluate": "ran",
    }
    # Every stage left its outputs under runs/NAME/round-R/STAGE/.
    r1 = run_dir / "round-1"
    solutions = [json.loads(line) for line in (r1 / "generate" / "solutions.jsonl").read_text().splitlines()]
    assert len(solutions) == 3 and all(len(s["completions"]) == 16 for s in solutions)
    assert len((r1 / "generate" / "tests.jsonl").read_text().splitlines()) == 3
    assert len((r1 / "matrix" / "matrix.jsonl").read_text().splitlines()) == 3
    assert len((r1 / "rank" / "rankings.jsonl").read_text().splitlines()) == 3
    pairs = [json.loads(line) for line in (r1 / "pairs" / "train_pairs.jsonl").read_text().splitlines()]
    assert pairs and all({"prompt", "chosen", "rejected", "task_id", "kind"} <= set(p) for p in pairs)
    assert all(p["chosen"] != p["rejected"] for p in pairs)
    assert (r1 / "train" / "model" / "model.safetensors").exists()
    assert (r1 / "train" / "model" / "training_log.png").exists()
    # The trained model is round 1's model, and both evaluations scored 3 problems per set.
    assert [r.model for r in result.rounds] == [str(tiny_model_dir), str(r1 / "train" / "model")]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [row["round"] for row in summary] == [0, 1]
    for row in summary:
        assert set(row["scores"]) == {"mbpp-test", "humaneval"}
        assert all(s["problems"] == 3 and 0.0 <= s["pass@1"] <= 1.0 for s in row["scores"].values())
    assert summary[1]["trained"] and summary[1]["pairs"] == len(pairs)
    assert (run_dir / "summary.png").exists()

    # 3. A third run does nothing; changing a training setting reruns only training and evaluation.
    assert set(statuses(Loop(load_loop_config(config), str(DATA)).run()).values()) == {"skipped"}
    config.write_text(config.read_text().replace("max_steps: 4", "max_steps: 2"))
    rerun = statuses(Loop(load_loop_config(config), str(DATA)).run())
    assert [k for k, v in rerun.items() if v == "ran"] == ["1/train", "1/evaluate"]

    # 4. The run folder moved elsewhere resumes there: every stage is skipped, and round 1's model is found
    # at the new place (stage records name the run's own files relative to the run).
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(run_dir, moved / "cpu-tiny")
    config.write_text(config.read_text().replace(f"runs_dir: {tmp_path}\n", f"runs_dir: {moved}\n"))
    result = Loop(load_loop_config(config), str(DATA)).run()
    assert set(statuses(result).values()) == {"skipped"}
    assert result.rounds[1].model == str(moved / "cpu-tiny" / "round-1" / "train" / "model")


@pytest.mark.docker
def test_a_session_runs_chosen_stages_and_closes_its_sandbox_on_leaving(tiny_model_dir, tmp_path):
    loop = Loop(load_loop_config(tiny_config(tmp_path, tiny_model_dir)), str(DATA))
    with loop.session() as model:
        tasks = loop.training_tasks()
        generated = loop.generate(1, model, tasks)
        matrices = loop.matrix(1, tasks, generated)
        sandbox = loop.sandbox()
    assert model == str(tiny_model_dir) and loop.style == "completion"
    assert [t.problem.task_id for t in tasks] == [p.task_id for p in loop.problems(loop.cfg.train_problems)]
    assert matrices.problems == 3 and [o.name for o in loop.runner.outcomes] == ["generate", "matrix"]
    assert (tmp_path / "cpu-tiny" / "config.json").exists()
    with pytest.raises(RuntimeError, match="closed"):
        sandbox.run(Job("print(1)"))
    with loop.session():  # a later session opens a pool of its own
        assert loop.sandbox() is not sandbox and loop.sandbox().run(Job("print(1)")).passed
