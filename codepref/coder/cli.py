"""`codepref coder build`: train the small coder model (cached by its recipe's hash; a no-op once built)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from codepref.coder.build import build_coder, build_record, cached_coder
from codepref.coder.recipe import RECIPES

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command("build")
def build_command(
    recipe: Annotated[str, typer.Option(help=f"one of: {', '.join(RECIPES)}")] = "cpu",
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="build into this folder instead of the cache")
    ] = None,
) -> None:
    """Build the coder model of RECIPE (tokenizer + SFT from scratch on synth-train) and print its folder."""
    if recipe not in RECIPES:
        typer.echo(f"error: unknown recipe '{recipe}' (choose from {', '.join(RECIPES)})", err=True)
        raise typer.Exit(2)
    try:
        model_dir = build_coder(out, RECIPES[recipe]) if out is not None else cached_coder(RECIPES[recipe])
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    record = build_record(model_dir)
    summary = {
        k: record[k] for k in ("parameters", "sft_rows", "tokens_trained", "train_loss", "build_seconds")
    }
    typer.echo(json.dumps(summary))
    typer.echo(str(model_dir))
