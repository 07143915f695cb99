"""`codepref eval BENCHMARK SAMPLES.jsonl`: pass@k of samples, run in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from codepref.data import DataFileError, benchmark_names
from codepref.evaluate.expected import ExpectedOutputsError
from codepref.evaluate.harness import EvalReport, SampleFileError, check_references, evaluate_samples
from codepref.evaluate.passk import format_scores, parse_ks
from codepref.sandbox import DEFAULT_WORKERS, BackendUnavailable, Status
from codepref.sandbox.ray_backend import RayAddressOption, backend_for


def eval_command(
    benchmark: Annotated[str, typer.Argument(help=f"one of: {', '.join(benchmark_names())}")],
    samples: Annotated[
        Path | None,
        typer.Argument(
            help="JSONL with task_id and completion (or solution); omit with --references", show_default=False
        ),
    ] = None,
    k: Annotated[str, typer.Option("-k", help="comma-separated k values for pass@k")] = "1,10,100",
    workers: Annotated[int, typer.Option(help="sandboxes running in parallel")] = DEFAULT_WORKERS,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="folder with the benchmark files (default: $CODEPREF_DATA_DIR, then the hub)"),
    ] = None,
    results: Annotated[
        Path | None, typer.Option(help="results file (default: SAMPLES_results.jsonl)")
    ] = None,
    split: Annotated[str | None, typer.Option(help="MBPP split: train, validation, test or prompt")] = None,
    backend: Annotated[str, typer.Option(help="sandbox backend: auto, docker or process")] = "auto",
    ray: RayAddressOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    references: Annotated[
        bool,
        typer.Option("--references", help="check the benchmark's own reference solutions instead of samples"),
    ] = False,
) -> None:
    """Run samples against a benchmark's tests in the sandbox and print pass@k (resumable)."""
    backend = backend_for(ray, backend)
    try:
        if references:
            raise typer.Exit(report_references(benchmark, workers, backend, data_dir, as_json))
        if samples is None:
            raise typer.BadParameter("give a SAMPLES file (or --references)")
        report = evaluate_samples(
            benchmark,
            samples,
            ks=parse_ks(k),
            workers=workers,
            backend=backend,
            data_dir=data_dir,
            results_path=results,
            split=split,
            progress=not as_json,
        )
    except (DataFileError, SampleFileError, ExpectedOutputsError, BackendUnavailable, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_report(report)
    if report.sandbox_errors:
        typer.echo(
            f"{report.sandbox_errors} sample(s) hit sandbox errors (infrastructure faults, retried once) and "
            "count as failed; run again to retry them",
            err=True,
        )
        raise typer.Exit(1)


def print_report(report: EvalReport) -> None:
    typer.echo(
        f"{report.benchmark}: {report.samples} samples on {report.problems_evaluated} of "
        f"{report.problems_in_benchmark} problems; results in {report.results_path}"
    )
    typer.echo("statuses: " + ", ".join(f"{name} {count}" for name, count in sorted(report.statuses.items())))
    if report.sandbox_errors:
        typer.echo(f"sandbox errors: {report.sandbox_errors} sample(s), counted as failed in pass@k")
    if report.base_scores is not None:
        typer.echo(f"{report.benchmark.rstrip('+')} (base tests)  {format_scores(report.base_scores)}")
        typer.echo(f"{report.benchmark} (base + plus tests)  {format_scores(report.scores)}")
    else:
        typer.echo(f"{report.benchmark}  {format_scores(report.scores)}")


def report_references(
    benchmark: str, workers: int, backend: str, data_dir: Path | None, as_json: bool
) -> int:
    """Print every problem whose own reference solution fails its own tests; exit status 1 if any does."""
    outcomes = check_references(
        benchmark, workers=workers, backend=backend, data_dir=data_dir, progress=not as_json
    )
    failing = [
        {"task_id": problem.task_id, "status": str(verdict.status), "error": first_error(verdict)}
        for problem, verdict in outcomes
        if not verdict.passed
    ]
    if as_json:
        typer.echo(
            json.dumps({"benchmark": benchmark, "problems": len(outcomes), "failing": failing}, indent=2)
        )
    else:
        typer.echo(
            f"{benchmark}: {len(outcomes) - len(failing)}/{len(outcomes)} reference solutions pass their own tests"
        )
        for entry in failing:
            typer.echo(f"  {entry['task_id']}: {entry['status']}: {entry['error']}")
    return 1 if failing else 0


def first_error(verdict) -> str:
    for test in verdict.tests:
        if test.error and test.status != Status.NOT_RUN:
            return test.error
    return verdict.error
