"""Choose each execution ranker's trust gate (`PairConfig.min_top_confidence`) on synth-validation, for the
coder and sampling settings of a loop config.

The loop's own round-1 stages (generate, matrix) run on the validation prompts with the config's model; the
samples are judged by the problems' hidden tests; then, per ranker, the script prints the precision and
coverage of its pairs at each threshold of a sweep (`codepref.pairs.gate`) and picks the smallest threshold
whose precision reaches --target-precision, the rule benchmarks/rerank_codet.py applies on HumanEval. Two
diagnostics come first: how much more of the sampled tests a right sample passes than a wrong one, and how
often a sample that passes the examples shown in its prompt passes the hidden tests. The picked values go
into the efficacy config's `efficacy: trust_gate:`. Never run it on synth-heldout: that split only
measures.

    python benchmarks/trust_gate.py configs/synth-efficacy.yaml

Writes trust_gate.json to --out (default benchmarks/out/trust-gate-NAME); the stages are cached there.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import yaml
from efficacy import hidden_verdicts  # benchmarks/ is this script's import path

from codepref.generate import read_generations
from codepref.loop import Loop, ProblemSet
from codepref.loop import tasks as T
from codepref.loop.models import resolve_model, run_prompt_style
from codepref.loop.validate import config_from_dict
from codepref.matrix import load_matrices
from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE, METHODS
from codepref.pairs.gate import SWEEP, pick_threshold, sweep_gate
from codepref.rank.ranked import execution_judges, rank_matrices
from codepref.sandbox import Job

EXAMPLE = re.compile(r">>> (.+)\n\s+(.+)\n")  # a synth prompt's doctest example: the call, then its value


def validation_samples(cfg, limit: int | None) -> tuple[list, dict[str, bool], dict[str, bool]]:
    """Round 1 of the loop on synth-validation's prompts: its execution matrices, which samples pass the
    hidden tests, and which pass the prompt's own examples (each by solution id)."""
    cfg = replace(cfg, train_problems=ProblemSet("synth-validation", limit=limit))
    loop = Loop(cfg)
    with loop._stack:
        model, loop.cfg = resolve_model(loop.cfg)
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        loop.style = run_prompt_style(loop.cfg.generation, model, cfg.run_dir)
        tasks = [T.make_task(p) for p in loop.problems(loop.cfg.train_problems)]
        generated = loop.generate(1, model, tasks)
        matrices = loop.matrix(1, tasks, generated)
        truth = hidden_verdicts(loop, 1, tasks)
        examples = example_verdicts(loop, tasks, Path(generated.solutions_file))
    return list(load_matrices(Path(matrices.matrix_file))), truth, examples


def example_verdicts(loop: Loop, tasks: list, solutions_file: Path) -> dict[str, bool]:
    """solution id -> whether the sample passes the examples its prompt shows (public, unlike the hidden
    tests): the signal a ranker could have beside the sampled tests."""
    records = read_generations(solutions_file)
    jobs, owners = [], {}
    for task in tasks:
        tests = tuple(f"assert {call} == {value}" for call, value in EXAMPLE.findall(task.prompt))
        for i, completion in enumerate(records[task.key]["completions"]):
            program = T.program(task, loop.style, completion["text"])
            job = Job(program=program, tests=tests, as_main=False, test_timeout_s=1.0)
            jobs.append(job)
            owners[job.job_id] = f"{task.key}#{i}"
    return {
        owners[v.job_id]: all(t.status == "passed" for t in v.tests) for v in loop.sandbox().run_many(jobs)
    }


def sampled_test_separation(matrices: list, truth: dict[str, bool]) -> tuple[float, float]:
    """On problems with both right and wrong samples: the mean share of sampled tests a right sample
    passes, and a wrong one."""
    right, wrong = [], []
    for matrix in matrices:
        verdicts = [truth[sid] for sid in matrix.solution_ids]
        if matrix.passed.shape[1] and any(verdicts) and not all(verdicts):
            for row, ok in zip(matrix.passed, verdicts, strict=True):
                (right if ok else wrong).append(float(row.mean()))
    if not right:  # no such problem (a small --limit): nothing to compare
        return float("nan"), float("nan")
    return statistics.fmean(right), statistics.fmean(wrong)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", type=Path)
    parser.add_argument(
        "--limit", type=int, default=None, help="the first N validation problems (default: all)"
    )
    parser.add_argument(
        "--target-precision", type=float, default=60.0, help="pair precision (%%) the threshold must reach"
    )
    parser.add_argument(
        "-o", "--out", type=Path, default=None, help="default: benchmarks/out/trust-gate-NAME"
    )
    args = parser.parse_args()
    try:
        raw = yaml.safe_load(args.config.read_text(encoding="utf-8")) or {}
        raw.pop("efficacy", None)
        base = config_from_dict(raw, str(args.config))
    except (ValueError, TypeError, OSError) as err:
        sys.exit(f"error: {args.config}: {err}")
    out = args.out or Path("benchmarks/out") / f"trust-gate-{base.name}"
    cfg = replace(base, name="validation", runs_dir=str(out / "runs"))
    matrices, truth, examples = validation_samples(cfg, args.limit)
    passing = sum(truth.values()) / max(1, len(truth))
    print(f"{len(matrices)} validation problems, {len(truth)} samples, {passing:.1%} pass the hidden tests")
    right, wrong = sampled_test_separation(matrices, truth)
    print(
        f"where some samples pass and some fail: right ones pass {right:.1%} of the sampled tests, wrong {wrong:.1%}"
    )
    shown = [sid for sid, ok in examples.items() if ok]
    shown_right = sum(truth[sid] for sid in shown) / max(1, len(shown))
    print(
        f"{len(shown) / len(examples):.1%} pass their prompt's examples; {shown_right:.1%} of those pass the hidden tests"
    )

    results: dict = {
        "config": str(args.config),
        "target_precision": args.target_precision,
        "sample_pass_rate": passing,
        "sampled_tests_passed": {"right": right, "wrong": wrong},
        "pass_examples": len(shown) / len(examples),
        "hidden_pass_given_examples": shown_right,
        "methods": {},
    }
    for method in METHODS:
        pairing = replace(base.pairs, method=method, min_top_confidence=0.0)
        judges = execution_judges(method, pairing.seed, **pairing.rank_options)
        ranked = {r.task_id: r for r in rank_matrices(matrices, judges)}
        sweep = sweep_gate(matrices, ranked, truth, pairing, SWEEP)
        picked = pick_threshold(sweep, args.target_precision)
        results["methods"][method] = {
            "sweep": sweep,
            "picked": picked,
            "default": DEFAULT_MIN_TOP_CONFIDENCE[method],
        }
        print(f"\n{method}: threshold | pairs | coverage % | precision % | chosen right % | rejected wrong %")
        for row in sweep:
            print(
                f"  {row['threshold']:>5g} | {row['pairs']:>5} | {row['coverage']:>6.1f} | {row['precision']:>6.1f}"
                f" | {row['chosen_correct']:>6.1f} | {row['rejected_wrong']:>6.1f}"
            )
        verdict = "none reaches it" if picked is None else f"picked {picked:g}"
        print(
            f"  target {args.target_precision:g}%: {verdict} (default {DEFAULT_MIN_TOP_CONFIDENCE[method]:g})"
        )
    (out / "trust_gate.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwritten: {out / 'trust_gate.json'}")


if __name__ == "__main__":
    main()
