"""`codepref bench [--check]`: run the gated benchmarks of the gates file and report every gate."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from codepref.data import DATA_DIR_ENV
from codepref.gates.file import GatesFileError, load_gates
from codepref.gates.run import RESULTS_NAME, run_benchmarks
from codepref.gates.summary import markdown_summary

DEFAULT_GATES = Path("benchmarks/gates.toml")
DEFAULT_OUT = Path("runs/bench-ci")
SUMMARY_NAME = "summary.md"
JOB_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"  # GitHub Actions shows this file on the job's page


def bench_command(
    check: Annotated[bool, typer.Option("--check", help="exit 1 when any gate fails, naming each")] = False,
    gates: Annotated[Path, typer.Option(help="the gates and baselines file")] = DEFAULT_GATES,
    out: Annotated[
        Path, typer.Option(help="results folder: results.json, summary.md, one folder per benchmark")
    ] = DEFAULT_OUT,
    data_dir: Annotated[
        Path | None, typer.Option(help=f"folder with the benchmark data files (default: ${DATA_DIR_ENV})")
    ] = None,
    only: Annotated[list[str] | None, typer.Option(help="run only this benchmark (repeatable)")] = None,
    backend: Annotated[
        str, typer.Option(help="sandbox backend for the benchmarks' {backend}: auto, docker or process")
    ] = "auto",
) -> None:
    """Run the benchmarks whose figures do not depend on machine speed, each judged by its gates.

    Finished benchmarks are kept in OUT/results.json and skipped on a rerun while their inputs are unchanged.
    """
    try:
        gates_file = load_gates(gates)
        for name in only or ():
            gates_file.benchmark(name)
    except GatesFileError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    if data_dir is None and os.environ.get(DATA_DIR_ENV):
        data_dir = Path(os.environ[DATA_DIR_ENV])
    # CI stops a job with SIGTERM: turned into an exit, so the running benchmark's processes are ended too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = run_benchmarks(
        gates_file, out, data_dir, only=tuple(only or ()), backend=backend, echo=typer.echo
    )
    summary = markdown_summary(results, str(gates))
    (out / SUMMARY_NAME).write_text(summary)
    if os.environ.get(JOB_SUMMARY_ENV):
        with open(os.environ[JOB_SUMMARY_ENV], "a", encoding="utf-8") as job_summary:
            job_summary.write(summary)
    typer.echo("\n" + summary)
    typer.echo(f"results: {out / RESULTS_NAME}, summary: {out / SUMMARY_NAME}")
    failures = [failure for result in results for failure in result.failures]
    if failures:
        typer.echo(f"FAILED gates ({len(failures)}):", err=True)
        for failure in failures:
            typer.echo(f"  {failure}", err=True)
        if check:
            raise typer.Exit(1)
