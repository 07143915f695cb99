"""Choose the weight of the prompt's examples (`matrix.prompt_examples`) and each execution ranker's trust
gate (`PairConfig.min_top_confidence`) on synth-validation, for the coder and sampling settings of a loop
config.

The loop's own round-1 stages (generate, matrix) run on the validation prompts with the config's model, the
matrices holding the prompt's examples at weight 1; the samples are judged by the problems' hidden tests.
Two diagnostics come first: how much more of the sampled tests a right sample passes than a wrong one, and
how often a sample that passes the examples shown in its prompt passes the hidden tests. Then, per ranker
and per example weight (0 leaves the examples out), the script prints the pairs made at the ranker's
default gate, their precision and coverage, and the smallest threshold of a sweep (`codepref.pairs.gate`)
whose precision reaches --target-precision (the rule benchmarks/rerank_codet.py applies on HumanEval);
trust_gate.json holds every sweep. The chosen values go into the efficacy config (`matrix.prompt_examples`,
`efficacy: trust_gate:`). Never run it on synth-heldout: that split only measures.

    python benchmarks/trust_gate.py configs/synth-efficacy.yaml

Writes trust_gate.json to --out (default benchmarks/out/trust-gate-NAME); the stages are cached there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from codepref.loop import Loop, ProblemSet
from codepref.loop.truth import round_verdicts
from codepref.loop.validate import config_from_dict
from codepref.matrix import ExecutionMatrix, load_matrices
from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE, METHODS
from codepref.pairs.gate import SWEEP, pick_threshold, sweep_gate
from codepref.rank.ranked import execution_judges, rank_matrices

# Weights of the prompt's examples (`matrix.prompt_examples`) swept: 0 ranks with the sampled tests alone.
EXAMPLE_WEIGHTS = (0, 1, 3, 10, 30, 100)


def validation_samples(cfg, limit: int | None) -> tuple[list, dict[str, bool]]:
    """Round 1 of the loop on synth-validation's prompts, with the prompt's examples in the matrices at
    weight 1 (`reweighted` derives every other weight): its matrices, and which samples pass the hidden
    tests (by solution id)."""
    cfg = replace(
        cfg,
        train_problems=ProblemSet("synth-validation", limit=limit),
        matrix=replace(cfg.matrix, prompt_examples=1),
    )
    loop = Loop(cfg)
    with loop.session() as model:
        tasks = loop.training_tasks()
        generated = loop.generate(1, model, tasks)
        matrices = loop.matrix(1, tasks, generated)
        truth = round_verdicts(loop, 1, tasks)
    return list(load_matrices(Path(matrices.matrix_file))), truth


def example_columns(matrix: ExecutionMatrix) -> np.ndarray:
    """Which of the matrix's test columns are examples shown in its prompt."""
    return np.array(matrix.example_counts, dtype=np.int64) > 0


def reweighted(matrix: ExecutionMatrix, weight: int) -> ExecutionMatrix:
    """The matrix as if built with the examples at `weight` (an example the model also sampled keeps its
    sampled count; one it did not is dropped at weight 0)."""
    examples = weight * example_columns(matrix)
    counts = np.array(matrix.sampled_counts) + examples
    keep = counts > 0
    return replace(
        matrix,
        test_ids=[t for t, k in zip(matrix.test_ids, keep, strict=True) if k],
        tests=[t for t, k in zip(matrix.tests, keep, strict=True) if k],
        test_counts=[int(c) for c in counts[keep]],
        example_counts=[int(c) for c in examples[keep]],
        passed=matrix.passed[:, keep],
        times=matrix.times[:, keep],
    )


def example_verdicts(matrices: list) -> dict[str, bool]:
    """solution id -> whether the sample passes every example its prompt shows (public, unlike the hidden
    tests), for problems whose prompt shows one."""
    verdicts = {}
    for matrix in matrices:
        shown = example_columns(matrix)
        if shown.any():
            verdicts |= dict(
                zip(matrix.solution_ids, matrix.passed[:, shown].all(axis=1).tolist(), strict=True)
            )
    return verdicts


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
    built, truth = validation_samples(cfg, args.limit)
    matrices = [reweighted(m, 0) for m in built]  # the sampled tests alone
    passing = sum(truth.values()) / max(1, len(truth))
    print(f"{len(matrices)} validation problems, {len(truth)} samples, {passing:.1%} pass the hidden tests")
    right, wrong = sampled_test_separation(matrices, truth)
    print(
        f"where some samples pass and some fail: right ones pass {right:.1%} of the sampled tests, wrong {wrong:.1%}"
    )
    examples = example_verdicts(built)
    shown = [sid for sid, ok in examples.items() if ok]
    shown_right = sum(truth[sid] for sid in shown) / max(1, len(shown))
    print(
        f"{len(shown) / max(1, len(examples)):.1%} pass their prompt's examples; {shown_right:.1%} of those pass the hidden tests"
    )

    results: dict = {
        "config": str(args.config),
        "target_precision": args.target_precision,
        "sample_pass_rate": passing,
        "sampled_tests_passed": {"right": right, "wrong": wrong},
        "pass_examples": len(shown) / max(1, len(examples)),
        "hidden_pass_given_examples": shown_right,
        "methods": {method: {} for method in METHODS},
    }
    print(
        "\nranker | example weight | pairs at its gate | precision % | coverage % "
        f"| smallest threshold reaching {args.target_precision:g}%"
    )
    for method in METHODS:
        gate = DEFAULT_MIN_TOP_CONFIDENCE[method]
        pairing = replace(base.pairs, method=method, min_top_confidence=0.0)
        judges = execution_judges(method, pairing.seed, **pairing.rank_options)
        for weight in EXAMPLE_WEIGHTS:
            weighted = [reweighted(m, weight) for m in built]
            ranked = {r.task_id: r for r in rank_matrices(weighted, judges)}
            sweep = sweep_gate(weighted, ranked, truth, pairing, sorted({*SWEEP, gate}))
            picked = pick_threshold(sweep, args.target_precision)
            at_gate = next(row for row in sweep if row["threshold"] == gate)
            results["methods"][method][str(weight)] = {"sweep": sweep, "picked": picked, "default": gate}
            print(
                f"{method} (gate {gate:g}) | {weight:>3} | {at_gate['pairs']:>4} | {at_gate['precision']:>5.1f}"
                f" | {at_gate['coverage']:>5.1f} | {'none' if picked is None else f'{picked:g}'}"
            )
    (out / "trust_gate.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwritten: {out / 'trust_gate.json'}")


if __name__ == "__main__":
    main()
