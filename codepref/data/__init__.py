"""Benchmark datasets: one loader per benchmark, all returning `Problem` records."""

from __future__ import annotations

from pathlib import Path

from codepref.data.humaneval import load_humaneval, load_humaneval_plus
from codepref.data.mbpp import MBPP_SPLITS, load_mbpp, load_mbpp_plus, load_mbpp_sanitized
from codepref.data.problems import BENCHMARKS, DATA_DIR_ENV, DataFileError, Problem

__all__ = ["BENCHMARKS", "DATA_DIR_ENV", "MBPP_SPLITS", "DataFileError", "Problem", "load_problems"]


def load_problems(
    benchmark: str,
    data_dir: str | Path | None = None,
    *,
    split: str | None = None,
    path: str | Path | None = None,
) -> list[Problem]:
    """Problems of `benchmark` (one of BENCHMARKS), in file order.

    `path` names the data file itself; otherwise it is looked up in `data_dir`, then $CODEPREF_DATA_DIR,
    then (online) the Hugging Face hub. `split` selects an MBPP split by task id range.
    """
    if split is not None and benchmark != "mbpp":
        raise DataFileError(f"--split applies to mbpp only, not {benchmark}")
    if benchmark == "humaneval":
        return load_humaneval(data_dir, path=path)
    if benchmark == "humaneval+":
        return load_humaneval_plus(data_dir, path=path)
    if benchmark == "mbpp":
        return load_mbpp(data_dir, split=split, path=path)
    if benchmark == "mbpp-sanitized":
        return load_mbpp_sanitized(data_dir, path=path)
    if benchmark == "mbpp+":
        return load_mbpp_plus(data_dir, path=path)
    if benchmark.startswith("synth-"):  # generated in memory: no data file, no data_dir
        from codepref.synth import load_synth

        return load_synth(benchmark)
    raise DataFileError(f"unknown benchmark '{benchmark}' (choose from {', '.join(BENCHMARKS)})")
