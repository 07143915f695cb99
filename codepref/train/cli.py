"""`codepref train`: preference fine-tuning from a pairs file.

Multi-GPU runs go through accelerate (one process per GPU):

    accelerate launch --num_processes 4 -m codepref.train.cli --pairs pairs.jsonl --model M -o OUT
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from codepref.train.config import load_train_config
from codepref.train.trainer import train

console = Console(stderr=True, soft_wrap=True)  # errors stay on one line


def train_command(
    pairs: Annotated[
        Path,
        typer.Option(
            "--pairs",
            help="Preference pairs, JSONL or parquet (prompt/chosen/"
            "rejected, or prompt/completion/label for KTO).",
        ),
    ],
    model: Annotated[str, typer.Option("--model", help="Model directory (or hub id) to fine-tune.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory: model, tokenizer, training log.")
    ],
    loss: Annotated[
        str | None,
        typer.Option(
            "--loss",
            help="dpo, ipo, robust, kto, another TRL loss_type, or a per-pair loss: noise_aware_dpo, irepo, "
            "margin, sami (default: the config's, else dpo).",
        ),
    ] = None,
    lora: Annotated[
        bool | None, typer.Option("--lora/--no-lora", help="Train LoRA adapters (merged on save).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML training config (see codepref.train.config).")
    ] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Training epochs.")] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Stop after this many optimizer steps.")
    ] = None,
    learning_rate: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    beta: Annotated[
        float | None, typer.Option("--beta", help="Strength of the pull towards the reference model.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="Examples per device per step.")
    ] = None,
) -> None:
    """Fine-tune MODEL on preference PAIRS with TRL (DPO-family losses or KTO) and save it to OUT."""
    try:
        cfg = load_train_config(
            config,
            loss=loss,
            lora=lora,
            epochs=epochs,
            max_steps=max_steps,
            learning_rate=learning_rate,
            beta=beta,
            batch_size=batch_size,
        )
        result = train(pairs, model, out, cfg)
    except (ValueError, FileNotFoundError) as err:
        console.print(f"[red]error:[/red] {err}", highlight=False)
        raise typer.Exit(2) from None
    samples_per_s = result.metrics.get("train_samples_per_second")
    console.print(
        f"trained {result.steps} steps on {result.examples} examples ({cfg.loss}"
        f"{', LoRA' if cfg.lora else ''}); {samples_per_s} samples/s -> {result.output_dir}",
        highlight=False,
    )


def main() -> None:
    typer.run(train_command)


if __name__ == "__main__":
    main()
