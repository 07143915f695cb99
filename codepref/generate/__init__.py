"""Sampling from code models behind one small interface.

    with make_generator("hf", model_path) as gen:
        per_prompt = gen.generate(GenerationRequest(prompts=("def f(x):\\n",), n=4, max_tokens=128))

`HFGenerator` (transformers `generate`, CPU or GPU, batched) and `VLLMGenerator` (vLLM's offline engine,
GPU) return the same records. `generate_jsonl` drives either one over many prompts and appends one JSON
line per prompt as it goes, so an interrupted run resumes at the first prompt without a record.
"""

from __future__ import annotations

import json
import os
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from codepref.records import drop_torn_tail, read_jsonl


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


def make_generator(backend: str, model: str, **options: Any) -> Generator:
    """`backend` is "hf", "vllm", or "auto" (vLLM when it is importable and a GPU is visible, else HF)."""
    if backend == "auto":
        backend = "vllm" if vllm_usable() else "hf"
    if backend == "hf":
        from codepref.generate.hf import HFGenerator

        return HFGenerator(model, **options)
    if backend == "vllm":
        from codepref.generate.vllm import VLLMGenerator

        return VLLMGenerator(model, **options)
    raise ValueError(f"unknown generator backend {backend!r}: expected 'hf', 'vllm' or 'auto'")


def vllm_usable() -> bool:
    """vLLM is importable and a CUDA GPU is visible."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


# --- driving a generator over a dataset, resumably --------------------------------------------------------


@dataclass(frozen=True)
class PromptRecord:
    """One prompt to sample for, with the identifiers that go into its output record."""

    key: str  # unique within the file, e.g. "HumanEval/0:solution"
    prompt: str
    stop: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def read_done_keys(path: Path) -> set[str]:
    """Keys already written to a generation JSONL file; a torn last line (a killed run) is ignored."""
    return {row["key"] for row in read_jsonl(path)}


def read_generations(path: Path) -> dict[str, dict[str, Any]]:
    """The records of a generation JSONL file by key."""
    return {row["key"]: row for row in read_jsonl(path)}


def generate_jsonl(
    generator: Generator,
    records: Sequence[PromptRecord],
    out_path: str | Path,
    request: GenerationRequest,
    chunk_size: int = 16,
) -> Path:
    """Sample `request.n` completions per record and append {"key", "prompt", "completions", **meta} lines.

    Records whose key is already in the file are skipped, so a rerun resumes. Each chunk of prompts is one
    `generate` call (records with the same stop sequences share a call); its lines are flushed before the
    next chunk starts. A fixed `request.seed` is offset per chunk by a hash of the chunk's first key, so
    chunks do not repeat each other's random streams.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    drop_torn_tail(out)
    done = read_done_keys(out)
    todo = [r for r in records if r.key not in done]
    with (
        out.open("a", encoding="utf-8") as fh,
        tqdm(
            total=len(records), initial=len(records) - len(todo), desc=f"generate {out.name}", unit="prompt"
        ) as bar,
    ):
        for chunk in _chunks_by_stop(todo, chunk_size):
            seed = (
                None if request.seed is None else (request.seed + zlib.crc32(chunk[0].key.encode())) % 2**31
            )
            sub = replace(
                request, prompts=tuple(r.prompt for r in chunk), stop=chunk[0].stop or request.stop, seed=seed
            )
            for record, completions in zip(chunk, generator.generate(sub), strict=True):
                line = {
                    "key": record.key,
                    **record.meta,
                    "prompt": record.prompt,
                    "completions": [c.to_dict() for c in completions],
                }
                fh.write(json.dumps(line) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            bar.update(len(chunk))
    return out


def _chunks_by_stop(records: Iterable[PromptRecord], size: int) -> Iterator[list[PromptRecord]]:
    groups: dict[tuple[str, ...], list[PromptRecord]] = {}
    for record in records:
        groups.setdefault(record.stop, []).append(record)
    for group in groups.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]
