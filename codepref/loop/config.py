"""The loop's configuration: one dataclass per section, every default declared once.

`PairConfig` (the pairs stage's own settings, also `codepref pairs`'s defaults) and `TrainConfig` are
embedded as they are. `codepref.loop.validate` checks a whole YAML file against these classes before any
stage runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codepref.coder import CPU_RECIPE
from codepref.matrix.examples import DEFAULT_EXAMPLE_WEIGHT
from codepref.model_judges.text_task import TextTaskSettings
from codepref.pairs.config import PairConfig
from codepref.sandbox import DEFAULT_WORKERS
from codepref.steps.config import StepPairSettings
from codepref.train.config import TrainConfig

DEFAULT_DATA_DIR = Path("../shared/data")  # used when neither data_dir nor $CODEPREF_DATA_DIR is set


@dataclass
class ProblemSet:
    benchmark: str  # a registered benchmark (codepref.data.benchmark_names())
    split: str | None = None  # where the benchmark has splits (mbpp: train, validation, test, prompt)
    limit: int | None = None  # the first N problems (after offset)
    offset: int = 0
    task_ids: list[str] | None = None

    @property
    def label(self) -> str:
        return self.benchmark + (f"-{self.split}" if self.split else "")


@dataclass
class GenerationSettings:
    backend: str = "auto"  # hf, vllm, auto (vLLM where it can run: its CPU build, or CUDA build + GPU)
    style: str = "auto"  # completion, chat, auto (the starting model's: chat when it has a chat template)
    system_prompt: str | None = None
    solutions: int = 8  # samples per training problem
    tests: int = 8  # test samples per training problem
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 384
    test_max_tokens: int = 192
    seed: int = 0
    batch_size: int = 32  # HF: sequences decoded together
    chunk_size: int = 64  # prompts per generate call (and per flushed batch of records)
    vllm: dict[str, Any] = field(default_factory=dict)  # VLLMGenerator options (tensor_parallel_size, ...)


@dataclass
class SandboxSettings:
    backend: str = "auto"  # auto, docker, process, or ray (never chosen by auto)
    workers: int = DEFAULT_WORKERS  # sandboxes (per Ray node with backend ray)
    memory_mb: int = 1024  # every job of the run: matrices, timing, evaluation
    address: str | None = None  # backend ray: the cluster's head (None: RAY_ADDRESS, or a local `ray start`)


@dataclass
class MatrixSettings:
    tests_per_sample: int = 5  # CodeT keeps the first 5 valid asserts of each test sample (0: all)
    test_timeout_s: float = 1.0
    # Weight of each example shown in the prompt (doctest lines or asserts) as a test column, counted as if
    # sampled that many times; 0 leaves the prompt's examples out.
    prompt_examples: int = DEFAULT_EXAMPLE_WEIGHT


@dataclass
class EvalSettings:
    sets: list[ProblemSet] = field(
        default_factory=lambda: [ProblemSet("humaneval"), ProblemSet("mbpp", "test")]
    )
    samples: int = 1
    temperature: float = 0.0  # greedy pass@1 by default
    top_p: float = 0.95
    max_tokens: int = 384
    ks: list[int] = field(default_factory=lambda: [1])


@dataclass
class LoopConfig:
    name: str
    model: (
        str  # a local directory, a hub id, "tiny" (the test model) or "synth-coder[:RECIPE]" (codepref.coder)
    )
    rounds: int = 1
    model_fallback: str = "none"  # "tiny": use the tiny local model when `model` cannot be loaded
    runs_dir: str = "runs"
    data_dir: str | None = None
    train_problems: ProblemSet = field(default_factory=lambda: ProblemSet("mbpp", "train"))
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    matrix: MatrixSettings = field(default_factory=MatrixSettings)
    pairs: PairConfig = field(default_factory=PairConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)
    task: str = "code"  # code: execution-ranked pairs; text: model-judged pairs (codepref.loop.text_loop)
    text: TextTaskSettings | None = None  # task: text: prompts, judge, sampling
    steps: StepPairSettings | None = None  # step-level pairs after the pairs stage (loop.step_stage)

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


def default_config() -> LoopConfig:
    """The README's one-command run, offline: the synth coder (built here on first use, `codepref coder
    build`) on synth-train prompts it was not trained on, one round, greedy pass@1 on synth-heldout. The
    settings of configs/synth-efficacy.yaml, on fewer problems."""
    return LoopConfig(
        name="default",
        model="synth-coder",
        rounds=1,
        train_problems=ProblemSet("synth-train", offset=CPU_RECIPE.sft_problems, limit=64),
        generation=GenerationSettings(
            backend="hf",
            style="completion",
            solutions=8,
            tests=4,
            max_tokens=96,
            test_max_tokens=128,
            batch_size=160,
        ),
        sandbox=SandboxSettings(backend="process"),
        matrix=MatrixSettings(prompt_examples=30),
        pairs=PairConfig(method="codedpo", pairs_per_problem=4),
        train=TrainConfig(
            learning_rate=5e-5, beta=0.1, epochs=2, batch_size=8, max_length=512, warmup_steps=0
        ),
        eval=EvalSettings(sets=[ProblemSet("synth-heldout", limit=100)], max_tokens=96),
    )


# Settings that make the tiny random model's round meaningful: it cannot write tests or correct code, so
# short samples give some that parse and load (the executability fallback's signal, turned on here
# explicitly), and a high learning rate makes one round of training visible.
TINY_OVERRIDES = {
    "generation": {
        "style": "completion",
        "solutions": 16,
        "tests": 4,
        "max_tokens": 4,
        "test_max_tokens": 16,
    },
    "pairs": {"fallback": "executability"},
    "train": {
        "learning_rate": 1e-2,
        "max_steps": 4,
        "batch_size": 4,
        "warmup_steps": 0,
        "lr_scheduler_type": "constant",
    },
    "eval": {"max_tokens": 16},
}


def with_tiny_overrides(cfg: LoopConfig) -> LoopConfig:
    for section, values in TINY_OVERRIDES.items():
        setattr(cfg, section, dataclasses.replace(getattr(cfg, section), **values))
    return cfg
