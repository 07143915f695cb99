"""`codepref pairs --method codedpo|dstc|codet MATRIX_FILE -o OUT`: rank each problem's solutions (the rank
stage's execution judge) and write preference pairs. Every default is `PairConfig`'s, as in the loop."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from codepref.matrix.format import ExecutionMatrix, load_matrices
from codepref.pairs.config import PairConfig
from codepref.pairs.storage import write_pairs
from codepref.rank.ranked import execution_judges, rank_matrices, write_rankings
from codepref.sandbox import DEFAULT_WORKERS, Sandbox
from codepref.sandbox.types import limits_profile

DEFAULTS = PairConfig()


def pairs_command(
    matrix_file: Annotated[Path, typer.Argument(help="execution matrices written by `codepref matrix`")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="output directory (pairs.jsonl/.parquet, kto.jsonl/.parquet)")
    ],
    method: Annotated[str, typer.Option(help="ranker: codedpo, dstc or codet")] = DEFAULTS.method,
    pairs_per_problem: Annotated[
        int, typer.Option(help="at most this many pairs per problem and kind")
    ] = DEFAULTS.pairs_per_problem,
    min_margin: Annotated[
        float, typer.Option(help="chosen minus rejected confidence must exceed this")
    ] = DEFAULTS.min_margin,
    min_top_confidence: Annotated[
        float | None,
        typer.Option(
            help="skip problems whose best confidence is not above this (default: codet 0.1, codedpo 0.3, dstc 0)"
        ),
    ] = None,
    efficiency: Annotated[
        bool, typer.Option("--efficiency/--no-efficiency", help="time the top group (codedpo)")
    ] = DEFAULTS.efficiency,
    speedup: Annotated[
        float, typer.Option(help="efficiency pair needs slow/fast >= this")
    ] = DEFAULTS.speedup,
    repeats: Annotated[
        int, typer.Option(help="timing runs per solution (median taken)")
    ] = DEFAULTS.timing_repeats,
    max_timed: Annotated[int, typer.Option(help="top solutions timed per problem")] = DEFAULTS.max_timed,
    codet_weight: Annotated[
        str, typer.Option(help="codet: 'count' (paper) or 'sqrt' (released code)")
    ] = "count",
    fallback: Annotated[
        str, typer.Option(help="none, or executability for problems whose tests give no signal")
    ] = DEFAULTS.fallback,
    seed: Annotated[int, typer.Option(help="tie-breaking seed")] = DEFAULTS.seed,
    backend: Annotated[str, typer.Option(help="sandbox backend for timing and the fallback")] = "auto",
    workers: Annotated[
        int, typer.Option(help="sandbox workers for timing and the fallback")
    ] = DEFAULT_WORKERS,
) -> None:
    """Rank each problem's solutions and write preference pairs (TRL preference + KTO formats)."""
    from tqdm import tqdm

    if not matrix_file.exists():
        raise typer.BadParameter(f"{matrix_file} does not exist", param_hint="MATRIX_FILE")
    try:
        config = PairConfig(
            method=method, pairs_per_problem=pairs_per_problem, min_margin=min_margin,
            min_top_confidence=min_top_confidence, efficiency=efficiency, speedup=speedup,
            timing_repeats=repeats, max_timed=max_timed, seed=seed, fallback=fallback,
            rank_options={"solution_weight": codet_weight} if method == "codet" else {},
        )  # fmt: skip
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None

    def progress(items: Iterable[ExecutionMatrix]) -> Iterator[ExecutionMatrix]:
        return iter(tqdm(items, desc=f"pairs ({method})", unit="problem"))

    try:
        matrices = list(load_matrices(matrix_file))
        judges = execution_judges(config.method, config.seed, **config.rank_options)
        rankings = {r.task_id: r for r in rank_matrices(matrices, judges)}
        out.mkdir(parents=True, exist_ok=True)
        write_rankings(out / "rankings.jsonl", rankings.values())
        if efficiency or fallback != "none":
            with Sandbox(backend=backend, workers=workers, limits=limits_profile("execution")) as sandbox:
                summary = write_pairs(matrices, rankings, out, config, sandbox=sandbox, progress=progress)
        else:
            summary = write_pairs(matrices, rankings, out, config, progress=progress)
    except ValueError as error:  # bad input file or an OUT made with other settings: one line, no trace
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(
        f"{summary['pairs']} pairs from {summary['problems']} problems, {summary['kto_rows']} KTO rows -> {out}"
    )
