"""Models of a run: resolving the configured model to a local directory (with the tiny-model fallback),
one generator at a time, and the prompt style, decided once per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from codepref.coder import RECIPES, cached_coder
from codepref.generate import make_generator, prompt_style_of, resolve_engine
from codepref.generate.tiny import cached_tiny_model, default_cache_dir
from codepref.loop.config import GenerationSettings, LoopConfig, with_tiny_overrides

console = Console(stderr=True, soft_wrap=True)


def resolve_model(cfg: LoopConfig) -> tuple[str, LoopConfig]:
    """A local directory for `cfg.model` (building or downloading it), falling back to the tiny model."""
    if cfg.model == "tiny":
        return str(tiny_model_dir()), cfg
    if cfg.model.startswith("synth-coder"):  # synth-coder[:RECIPE], built here on first use
        recipe = cfg.model.partition(":")[2] or "cpu"
        if recipe not in RECIPES:
            raise ValueError(f"model {cfg.model!r}: unknown coder recipe (choose from {', '.join(RECIPES)})")
        return str(cached_coder(RECIPES[recipe])), cfg
    if Path(cfg.model).is_dir():
        return cfg.model, cfg
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(
            cfg.model, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
        ), cfg
    except Exception as err:  # offline, unknown repo, auth: all mean "no model"
        if cfg.model_fallback != "tiny":
            raise ValueError(f"model {cfg.model!r} is neither a directory nor downloadable ({err})") from None
        console.print(
            f"[yellow]warning:[/yellow] cannot download {cfg.model} ({type(err).__name__}); "
            "using the tiny local model instead",
            highlight=False,
        )
        return str(tiny_model_dir()), with_tiny_overrides(cfg)


def tiny_model_dir() -> Path:
    return cached_tiny_model(default_cache_dir() / "models")


def run_prompt_style(cfg: GenerationSettings, start_model: str, run_dir: Path) -> str:
    """The run's prompt style, decided once and recorded in `run_dir/prompt_style.json`, so every round
    (and a resumed run) prompts the same way: the configured style, else the one recorded, else the
    starting model's (`prompt_style_of`)."""
    record = run_dir / "prompt_style.json"
    if cfg.style != "auto":
        style = cfg.style
    elif record.exists():
        style = json.loads(record.read_text(encoding="utf-8"))["style"]
    else:
        style = prompt_style_of(start_model)
    run_dir.mkdir(parents=True, exist_ok=True)
    record.write_text(
        json.dumps({"style": style, "configured": cfg.style, "start_model": start_model}) + "\n"
    )
    return style


class Models:
    """One generator at a time: built for a model on first use, closed before training or a model switch."""

    def __init__(self, cfg: GenerationSettings) -> None:
        self.cfg = cfg
        self.path: str | None = None
        self.generator: Any = None
        self._tokenizers: dict[str, Any] = {}

    @property
    def backend(self) -> str:
        return resolve_engine(self.cfg.backend)

    def generator_for(self, model: str) -> Any:
        if self.path != model:
            self.close()
            options = dict(self.cfg.vllm) if self.backend == "vllm" else {"batch_size": self.cfg.batch_size}
            self.generator = make_generator(self.backend, model, **options)
            self.path = model
        return self.generator

    def tokenizer_for(self, model: str) -> Any:
        from transformers import AutoTokenizer

        if model not in self._tokenizers:
            self._tokenizers[model] = AutoTokenizer.from_pretrained(model)
        return self._tokenizers[model]

    def close(self) -> None:
        if self.generator is not None:
            self.generator.close()
        self.generator, self.path = None, None
