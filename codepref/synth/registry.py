"""The synth splits as entries of the data registry (`codepref.data`). Imported by `codepref.data` itself,
so nothing here imports `codepref.data` or the generator at module level (no import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SYNTH_BENCHMARKS = ("synth-train", "synth-validation", "synth-heldout", "synth-prompts")


def register_synth_benchmarks(register: Callable[..., object]) -> None:
    """Register each split (its loader ignores data_dir and path: the problems are generated, no file)."""
    for benchmark in SYNTH_BENCHMARKS:
        register(
            benchmark,
            lambda data_dir=None, *, path=None, name=benchmark: _load(name),
            description=f"synthetic {benchmark.removeprefix('synth-')} problems, generated (codepref.synth)",
        )


def _load(benchmark: str) -> list[Any]:
    from codepref.synth import load_synth

    return load_synth(benchmark)
