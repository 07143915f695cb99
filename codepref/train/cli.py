"""`codepref train`: preference fine-tuning from a pairs file.

Every `TrainConfig` field is an option of the same name (`--learning-rate`, `--merge-lora/--no-merge-lora`,
`--trl '{max_length: 2048}'`, ...) with the field's help; an option not given keeps the value of `--config`,
else the field's default. Multi-GPU runs go through accelerate (one process per GPU):

    accelerate launch --num_processes 4 -m codepref.train.cli --pairs pairs.jsonl --model M -o OUT
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from codepref.settings import declared_default
from codepref.train.config import TrainConfig, load_train_config
from codepref.train.trainer import train

console = Console(stderr=True, soft_wrap=True)  # errors stay on one line

# Short names the options had before every field became one.
ALIASES = {"learning_rate": ("--lr",)}


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
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML training config (see codepref.train.config).")
    ] = None,
    **settings: Any,
) -> None:
    """Fine-tune MODEL on preference PAIRS with TRL (DPO-family losses or KTO) and save it to OUT."""
    try:
        cfg = load_train_config(config, **parsed_mappings(settings))
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


def setting_options() -> list[inspect.Parameter]:
    """One option per TrainConfig field, unset (None) by default so that `--config` values stand."""
    hints = typing.get_type_hints(TrainConfig)
    return [setting_option(f, hints[f.name]) for f in dataclasses.fields(TrainConfig)]


def setting_option(f: dataclasses.Field, hint: Any) -> inspect.Parameter:
    flag = "--" + f.name.replace("_", "-")
    default = declared_default(f)
    if typing.get_origin(hint) is dict:
        kind, names = str, (flag,)
        help_text = f"{f.metadata['help']} A YAML mapping, e.g. '{{key: value}}'."
    elif bool in typing.get_args(hint) or hint is bool or f.name == "lora":
        kind, names, help_text = bool, (f"{flag}/--no-{flag[2:]}",), f.metadata["help"]
    else:
        kind, names, help_text = hint, (flag, *ALIASES.get(f.name, ())), f.metadata["help"]
    option = typer.Option(*names, help=help_text, show_default=False if default is None else str(default))
    return inspect.Parameter(
        f.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, option]
    )


def parsed_mappings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings given, with the mapping options' YAML text read."""
    hints = typing.get_type_hints(TrainConfig)
    parsed = dict(settings)
    for name, text in settings.items():
        if text is None or typing.get_origin(hints[name]) is not dict:
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = None  # reported below, as any text that is not a mapping
        if not isinstance(value, dict):
            raise ValueError(f"--{name.replace('_', '-')}: expected a YAML mapping, got {text!r}")
        parsed[name] = value
    return parsed


_fixed = [
    p for p in inspect.signature(train_command, eval_str=True).parameters.values() if p.kind != p.VAR_KEYWORD
]
train_command.__signature__ = inspect.Signature([*_fixed, *setting_options()])  # typer reads this


def main() -> None:
    typer.run(train_command)


if __name__ == "__main__":
    main()
