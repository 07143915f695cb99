"""Choosing the trust gate (`PairConfig.min_top_confidence`) where the truth is known: the precision and
coverage of a ranker's pairs at each threshold of a sweep, and the smallest threshold whose precision
reaches a target.

Only for a tuning set (HumanEval's even half in benchmarks/rerank_codet.py, synth-validation in
benchmarks/trust_gate.py): a threshold picked on the set a result is reported on would flatter it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from codepref.matrix.format import ExecutionMatrix
from codepref.pairs.config import PairConfig
from codepref.pairs.selection import pairs_for_problem
from codepref.rank.ranked import RankedProblem

SWEEP = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def gate_point(
    matrices: Sequence[ExecutionMatrix],
    ranked: Mapping[str, RankedProblem],
    truth: Mapping[str, bool],
    config: PairConfig,
) -> dict[str, Any]:
    """The pairs `config` makes from these rankings, judged by `truth` (solution id -> passes the hidden
    tests): precision (chosen passes and rejected fails), how often each side is right, and coverage (the
    share of problems that yield a pair), in percent."""
    chosen_ok = rejected_ok = both_ok = total = covered = 0
    for matrix in matrices:
        pairs = pairs_for_problem(matrix, ranked[matrix.task_id], config)
        covered += bool(pairs)
        for pair in pairs:
            good, bad = truth[pair.chosen_id], not truth[pair.rejected_id]
            total += 1
            chosen_ok += good
            rejected_ok += bad
            both_ok += good and bad
    share = (lambda k: 100 * k / total) if total else (lambda k: float("nan"))
    return {
        "threshold": config.min_top_confidence,
        "pairs": total,
        "coverage": 100 * covered / len(matrices) if matrices else float("nan"),
        "precision": share(both_ok),
        "chosen_correct": share(chosen_ok),
        "rejected_wrong": share(rejected_ok),
    }


def sweep_gate(
    matrices: Sequence[ExecutionMatrix],
    ranked: Mapping[str, RankedProblem],
    truth: Mapping[str, bool],
    config: PairConfig,
    thresholds: Iterable[float] = SWEEP,
) -> list[dict[str, Any]]:
    """`gate_point` at each threshold, every other pairing setting as in `config`."""
    return [gate_point(matrices, ranked, truth, replace(config, min_top_confidence=t)) for t in thresholds]


def pick_threshold(sweep: Sequence[Mapping[str, Any]], target_precision: float) -> float | None:
    """The smallest swept threshold whose pairs reach `target_precision` (%), or None if none does."""
    reached = [row["threshold"] for row in sweep if row["pairs"] and row["precision"] >= target_precision]
    return min(reached) if reached else None
