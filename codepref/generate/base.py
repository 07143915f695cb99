"""The generator interface every backend implements: what to sample (`GenerationRequest`), what comes back
(`Completion`), and the `Generator` base class. Backends (hf, vllm, distributed) import only this module,
so the package's factory can import them all."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Defaults of the sampling settings the `codepref generate` command and the loop config share.
DEFAULT_MAX_TOKENS = 384  # tokens per sampled solution
DEFAULT_BATCH_SIZE = 32  # HF: prompts decoded together


@dataclass(frozen=True)
class GenerationRequest:
    """What to sample: `n` completions for each prompt, with these sampling settings."""

    prompts: tuple[str, ...]
    n: int = 1
    temperature: float = 0.8  # 0 means greedy (and then n identical samples)
    top_p: float = 0.95
    max_tokens: int = 256
    stop: tuple[str, ...] = ()  # cut the completion before the earliest one; the stop itself is not returned
    seed: int | None = None
    logprobs: bool = False  # return the sampled tokens' log-probabilities under the model (before sampling
    # transforms such as temperature and top-p), as vLLM does by default

    def __post_init__(self) -> None:
        object.__setattr__(self, "prompts", tuple(self.prompts))
        object.__setattr__(self, "stop", tuple(self.stop))
        if self.n < 1:
            raise ValueError(f"GenerationRequest.n must be at least 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"GenerationRequest.max_tokens must be at least 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"GenerationRequest.temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"GenerationRequest.top_p must be in (0, 1], got {self.top_p}")


@dataclass
class Completion:
    """One sampled continuation of one prompt."""

    text: str
    finish_reason: str  # "stop" (a stop sequence or end-of-sequence token) or "length" (max_tokens reached)
    num_tokens: int  # generated tokens kept, after cutting at a stop sequence
    token_logprobs: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Completion:
        return cls(**data)


@dataclass
class GeneratorInfo:
    backend: str
    model: str
    device: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Generator(ABC):
    """A sampler: `generate` returns, for each prompt in order, its `n` completions."""

    info: GeneratorInfo

    @abstractmethod
    def generate(self, request: GenerationRequest) -> list[list[Completion]]: ...

    @property
    def prompt_style(self) -> str:
        """How this model is prompted: "chat" (its tokenizer has a chat template) or "completion"."""
        return prompt_style_of(self.info.model)

    def close(self) -> None:  # noqa: B027 - optional hook: backends without resources need not free any
        """Free the model (GPU memory in particular); the generator cannot be used afterwards."""

    def __enter__(self) -> Generator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PROMPT_STYLES = ("completion", "chat")
STYLE_CHOICES = ("auto", *PROMPT_STYLES)  # "auto": the model's own, `prompt_style_of`


def prompt_style_of(model_dir: str | Path) -> str:
    """ "chat" when the model's tokenizer carries a chat template, else "completion". A property of the
    model's files, never of its path: a fine-tuned copy saved elsewhere keeps the style of its parent."""
    directory = Path(model_dir)
    if (directory / "chat_template.jinja").exists() or (directory / "chat_template.json").exists():
        return "chat"
    config = directory / "tokenizer_config.json"
    if config.exists() and json.loads(config.read_text(encoding="utf-8")).get("chat_template"):
        return "chat"
    return "completion"
