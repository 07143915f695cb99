"""`codepref run [CONFIG.yaml]`: the self-alignment loop from one config (codepref.loop.code_loop).

Without CONFIG the built-in default runs: a small real coder model from the hub when the machine is
online, else (one-line warning) the tiny local model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from codepref.loop.config import default_config
from codepref.loop.text_loop import make_loop
from codepref.loop.validate import ConfigError, load_loop_config
from codepref.sandbox.ray_backend import RayAddressOption

console = Console(stderr=True, soft_wrap=True)


def run_command(
    config: Annotated[
        Path | None, typer.Argument(help="Loop config YAML (see configs/); omit for the built-in default.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", envvar="CODEPREF_DATA_DIR", help="Directory holding the benchmark files."),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option("--rounds", help="Override the config's number of rounds.")
    ] = None,
    runs_dir: Annotated[
        Path | None, typer.Option("--runs-dir", help="Override where runs are written.")
    ] = None,
    ray: RayAddressOption = None,
) -> None:
    """Run the self-alignment loop: rounds of generate -> matrix -> rank -> pairs -> train -> evaluate."""
    try:
        cfg = load_loop_config(config) if config is not None else default_config()
    except ConfigError as err:
        for line in str(err).splitlines():
            console.print(f"[red]error:[/red] {line}", highlight=False)
        raise typer.Exit(2) from None
    if rounds is not None:
        if rounds < 0:
            console.print("[red]error:[/red] --rounds must be >= 0", highlight=False)
            raise typer.Exit(2)
        cfg.rounds = rounds
    if runs_dir is not None:
        cfg.runs_dir = str(runs_dir)
    if ray is not None:
        cfg.sandbox.backend, cfg.sandbox.address = "ray", ray
    try:
        result = make_loop(cfg, str(data_dir) if data_dir else None).run()
    except ValueError as err:  # a model that cannot be loaded, a data file that is missing or malformed
        console.print(f"[red]error:[/red] {err}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"run written to {result.run_dir} (summary.json, summary.png)", highlight=False)
