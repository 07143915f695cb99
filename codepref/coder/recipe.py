"""Recipes for the small coder model: architecture, data and training settings in one record whose hash
names the cached build (any change rebuilds)."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, replace

from codepref.synth.problems import SYNTH_VERSION


@dataclass(frozen=True)
class CoderRecipe:
    """A Qwen2-architecture causal LM trained from scratch with TRL's SFTTrainer on synth-train."""

    name: str
    vocab_size: int = 1024
    hidden_size: int = 192
    intermediate_size: int = 512
    num_hidden_layers: int = 4
    num_attention_heads: int = 6  # head size 32: vLLM's CPU attention kernels need >= 32
    num_key_value_heads: int = 6
    sft_problems: int = 2000  # the first N problems of synth-train; the loop samples prompts after them
    # Asserts in each test-writing example. Two, not five: with five, test tokens were 3/4 of the completion
    # tokens trained on, and validation pass@1 rose from 1.5% to 11.5% (450 steps) when cut to two.
    tests_per_example: int = 2
    max_steps: int = 600
    batch_size: int = 16
    learning_rate: float = 3e-3
    warmup_steps: int = 15
    weight_decay: float = 0.01
    max_length: int = 512
    seed: int = 0
    synth_seed: int = 0
    device: str = "cpu"  # cpu or cuda
    # CPU threads for training: 600 steps take about 5 minutes with two on an idle 2-core machine. Under
    # load two threads are slower than one (each thread's spin-waits starve the other): build it alone.
    cpu_threads: int = 2
    builder_version: int = 2

    def key(self) -> str:
        import torch
        import transformers
        import trl

        versions = (
            f"{sys.version.split()[0]} {torch.__version__} {transformers.__version__} {trl.__version__}"
        )
        payload = json.dumps(asdict(self), sort_keys=True) + versions + f" synth {SYNTH_VERSION}"
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


# CPU: the probe (about 2M parameters); 600 steps, about 5 minutes on this 2-core machine when idle.
CPU_RECIPE = CoderRecipe(name="cpu")
# GPU: a wider, deeper model on more data, for one GPU in a few minutes (untested here: no GPU was lent).
GPU_RECIPE = CoderRecipe(
    name="gpu",
    hidden_size=384,
    intermediate_size=1024,
    num_hidden_layers=8,
    num_attention_heads=12,
    num_key_value_heads=4,
    max_steps=2000,
    batch_size=64,
    learning_rate=1.5e-3,
    warmup_steps=100,
    device="cuda",
)
# Seconds: the whole build path (tokenizer, SFTTrainer, save, load) on a model too small to learn much.
TEST_RECIPE = replace(
    CPU_RECIPE,
    name="test",
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=1,
    num_key_value_heads=1,
    sft_problems=40,
    max_steps=4,
    batch_size=8,
    warmup_steps=0,
)
RECIPES = {r.name: r for r in (CPU_RECIPE, GPU_RECIPE, TEST_RECIPE)}
