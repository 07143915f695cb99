import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codepref.loop import Loop, load_loop_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CODEPREF_DATA_DIR", ROOT.parent / "shared" / "data"))
CPU_CONFIG = ROOT / "configs" / "cpu-tiny.yaml"


def tiny_config(tmp_path: Path, model: Path) -> Path:
    """configs/cpu-tiny.yaml (one round, 3 MBPP train problems), on the test session's tiny model and a
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
@pytest.mark.skipif(not (DATA / "mbpp.jsonl").exists(), reason="needs the shared MBPP data")
def test_one_round_on_cpu_resumes_after_a_kill(tiny_model_dir, tmp_path):
    config = tiny_config(tmp_path, tiny_model_dir)
    run_dir = tmp_path / "cpu-tiny"
    # 1. Start the run in a process of its own and kill it (SIGKILL, no cleanup) once training has begun.
    script = (
        "import typer; from codepref.loop import run_command; app = typer.Typer(); "
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


def test_config_errors_name_the_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nmodel: tiny\ngeneration: {sollutions: 3}\n")
    with pytest.raises(ValueError, match=r"bad.yaml.generation: unknown field\(s\) sollutions"):
        load_loop_config(path)
    path.write_text("name: x\nmodel: tiny\neval: {sets: [{benchmark: mbpp, splitt: test}]}\n")
    with pytest.raises(ValueError, match=r"bad.yaml.eval.sets\[0\]: unknown field\(s\) splitt"):
        load_loop_config(path)
    path.write_text("model: tiny\n")
    with pytest.raises(ValueError, match="field 'name' is missing"):
        load_loop_config(path)
    path.write_text("name: x\nmodel: tiny\npairs: {fallback: maybe}\n")
    with pytest.raises(ValueError, match="pairs.fallback must be"):
        load_loop_config(path)


def test_example_configs_load():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        cfg = load_loop_config(path)
        assert cfg.rounds >= 1 and cfg.eval.sets, path


@pytest.mark.docker
@pytest.mark.skipif(not (DATA / "mbpp.jsonl").exists(), reason="needs the shared MBPP data")
def test_loop_programs_pass_with_reference_completions(tmp_path):
    """The programs the loop builds from a prompt and a completion are what the benchmark harness expects:
    with the reference solution as the completion, every one passes `codepref eval`'s runner."""
    import ast
    import textwrap

    from codepref.data import load_problems
    from codepref.evaluate.runner import evaluate_samples
    from codepref.loop import make_task, solution_parts, solution_prompt

    def reference_body(problem) -> str | None:
        """The entry point's body from a reference that is only imports and that one function."""
        tree = ast.parse(problem.canonical_solution)
        kinds = {type(node) for node in tree.body}
        if (
            kinds - {ast.Import, ast.ImportFrom, ast.FunctionDef}
            or len([n for n in tree.body if isinstance(n, ast.FunctionDef)]) != 1
        ):
            return None
        node = tree.body[-1]
        lines = problem.canonical_solution.splitlines(keepends=True)[
            node.body[0].lineno - 1 : node.end_lineno
        ]
        # re-indented to the prompt's four spaces (references use tabs or two spaces)
        return textwrap.indent(textwrap.dedent("".join(line.expandtabs(4) for line in lines)), "    ")

    for benchmark, split in (("humaneval", None), ("mbpp", "test")):
        problems = load_problems(benchmark, DATA, split=split)
        rows = []
        for problem in problems:
            completion = problem.canonical_solution if benchmark == "humaneval" else reference_body(problem)
            if completion is None:
                continue
            task = make_task(problem, benchmark)
            prompt = solution_prompt(task, "completion", None, None)
            prefix, body = solution_parts(task, "completion", completion, prompt.stop)
            rows.append({"task_id": problem.task_id, "solution": prefix + body})
            if len(rows) == 4:
                break
        samples = tmp_path / f"{benchmark}.jsonl"
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        report = evaluate_samples(
            benchmark, samples, ks=[1], workers=2, data_dir=DATA, split=split, progress=False
        )
        assert report.problems_evaluated == 4 and report.scores["pass@1"] == 1.0, (benchmark, report.statuses)


def test_chat_answers_become_programs_and_training_rows():
    from codepref.data import load_problems
    from codepref.loop import make_task, solution_parts, training_rows
    from codepref.pairs import PreferencePair

    problem = load_problems("humaneval")[0]
    task = make_task(problem)
    answer = (
        "Here you go:\n```python\ndef has_close_elements(numbers, threshold):\n    return any(\n"
        "        abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n\n"
        "print(has_close_elements([1.0], 0.5))\n```\nDone."
    )
    prefix, code = solution_parts(task, "chat", answer, ())
    assert prefix == "from typing import List\n\n"  # the prompt's imports, which chat answers often omit
    assert code.startswith("def has_close_elements(numbers, threshold):") and "print(" not in code
    # Chat pairs train on the chat prompt and whole answers, found by solution id.
    solutions = {
        task.key: {"prompt": "<chat prompt>", "completions": [{"text": "answer 0"}, {"text": "answer 1"}]}
    }
    pair = PreferencePair(
        prompt="",
        chosen="code 1",
        rejected="code 0",
        method="codedpo",
        task_id=task.key,
        chosen_score=1.0,
        rejected_score=0.0,
        margin=1.0,
        kind="correctness",
        chosen_id=f"{task.key}#1",
        rejected_id=f"{task.key}#0",
    )
    (row,) = training_rows([pair], "chat", solutions)
    assert (row["prompt"], row["chosen"], row["rejected"]) == ("<chat prompt>", "answer 1", "answer 0")
    (same,) = training_rows([pair], "completion", solutions)
    assert (same["prompt"], same["chosen"]) == ("", "code 1")
