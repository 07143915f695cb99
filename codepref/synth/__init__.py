"""Synthetic Python function-synthesis problems with hidden tests (`synth-train`, `synth-validation`,
`synth-heldout`), generated deterministically from composable primitives; see codepref.synth.problems."""

from __future__ import annotations

from codepref.synth.problems import DEFAULT_SEED, SPLITS, generate_split, to_problem
from codepref.tasks.problem import DataFileError, Problem

__all__ = ["SYNTH_BENCHMARKS", "load_synth"]

SYNTH_BENCHMARKS = ("synth-train", "synth-validation", "synth-heldout", "synth-prompts")


def load_synth(benchmark: str, seed: int = DEFAULT_SEED) -> list[Problem]:
    """The problems of `synth-<split>` as `Problem` records (generated in memory; no data file)."""
    split = benchmark.removeprefix("synth-")
    if split not in SPLITS:
        raise DataFileError(f"unknown benchmark '{benchmark}' (synth splits: {', '.join(SYNTH_BENCHMARKS)})")
    return [to_problem(p, benchmark, i) for i, p in enumerate(generate_split(split, seed))]
