"""The synth splits as entries of the data registry (`codepref.data`, which calls
`register_synth_benchmarks` when it is imported)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codepref.synth import SYNTH_BENCHMARKS, load_synth


def register_synth_benchmarks(register: Callable[..., object]) -> None:
    """Register each split (its loader ignores data_dir and path: the problems are generated, no file)."""
    for benchmark in SYNTH_BENCHMARKS:
        register(
            benchmark,
            lambda data_dir=None, *, path=None, name=benchmark: _load(name),
            description=f"synthetic {benchmark.removeprefix('synth-')} problems, generated (codepref.synth)",
        )


def _load(benchmark: str) -> list[Any]:
    return load_synth(benchmark)
