"""`codepref matrix`: build the N x M solution-by-test pass matrix of each problem in the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codepref.matrix.build import build_matrices
from codepref.matrix.examples import DEFAULT_EXAMPLE_WEIGHT, prompt_example_tests, with_example_tests
from codepref.matrix.extraction import CODET_TEST_TIMEOUT_S, CODET_TESTS_PER_SAMPLE, DEFAULT_TEST_TIMEOUT_S
from codepref.matrix.inputs import codet_problems, read_problem_file
from codepref.sandbox import DEFAULT_WORKERS, Sandbox
from codepref.sandbox.ray_backend import RayAddressOption, backend_for
from codepref.sandbox.types import limits_profile


def matrix_command(
    problems_file: Annotated[
        Path | None,
        typer.Argument(
            help="JSONL, one problem per line: task_id, prompt, solutions, and tests or raw_tests+entry_point."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Matrix JSONL file (appended to; resumable).")
    ] = Path("matrix.jsonl"),
    codet: Annotated[
        bool,
        typer.Option(
            "--codet", help="Use CodeT's released CodeGen-16B HumanEval samples instead of PROBLEMS_FILE."
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", envvar="CODEPREF_DATA_DIR", help="Directory holding CodeT's sample files."
        ),
    ] = None,
    tests_per_sample: Annotated[
        int,
        typer.Option(
            help="Keep the first K valid test snippets of each raw test sample (CodeT: 5; 0 keeps all)."
        ),
    ] = CODET_TESTS_PER_SAMPLE,
    test_timeout: Annotated[
        float,
        typer.Option(help=f"Per-test timeout in seconds (CodeT's reproduction: {CODET_TEST_TIMEOUT_S})."),
    ] = DEFAULT_TEST_TIMEOUT_S,
    prompt_examples: Annotated[
        int,
        typer.Option(
            help="Add the examples each prompt shows (doctest lines, asserts) as tests, each counted this "
            "many times (0: leave them out)."
        ),
    ] = DEFAULT_EXAMPLE_WEIGHT,
    workers: Annotated[int, typer.Option(help="Parallel sandbox workers.")] = DEFAULT_WORKERS,
    backend: Annotated[str, typer.Option(help="Sandbox backend: auto, docker or process.")] = "auto",
    ray: RayAddressOption = None,
    max_problems: Annotated[int, typer.Option(help="Only the first N problems (0: all).")] = 0,
    dedupe: Annotated[
        bool, typer.Option(help="Run identical completions of a problem once (their rows are copies).")
    ] = True,
) -> None:
    """Build the N x M solution-by-test pass matrix of each problem in the sandbox (one job per solution)."""
    from rich.console import Console

    console = Console(stderr=True, soft_wrap=True)
    limit = tests_per_sample or None
    if codet == (problems_file is not None):
        raise typer.BadParameter("give either PROBLEMS_FILE or --codet")
    try:
        problems = (
            codet_problems(data_dir, limit=limit) if codet else read_problem_file(problems_file, limit=limit)
        )
    except (ValueError, FileNotFoundError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    if max_problems:
        problems = problems[:max_problems]
    if prompt_examples < 0:
        raise typer.BadParameter("--prompt-examples must be >= 0")
    problems = [
        with_example_tests(p, prompt_example_tests(p.prompt, p.entry_point), prompt_examples)
        for p in problems
    ]
    sandbox_backend = backend_for(ray, backend)
    with Sandbox(backend=sandbox_backend, workers=workers, limits=limits_profile("execution")) as sandbox:
        matrices, stats = build_matrices(
            problems, out, sandbox, test_timeout_s=test_timeout, dedupe_solutions=dedupe
        )
    cells = sum(m.passed.size for m in matrices)
    console.print(
        f"{len(matrices)}/{stats.problems_total} problems in {out} ({stats.problems_resumed} resumed); "
        f"{stats.jobs} jobs, {stats.test_runs} test runs, {cells} cells, {stats.wall_s:.1f} s; "
        f"job statuses {stats.statuses}"
    )
    if stats.sandbox_errors:
        console.print(
            f"[yellow]{stats.sandbox_errors} job(s) hit sandbox errors (infrastructure faults, retried once): "
            "their rows fail every test; run the same command again to retry them[/yellow]"
        )
        raise typer.Exit(1)
