"""The loop's configuration: one dataclass per section, every default declared once.

`PairConfig` (the pairs stage's own settings, also `codepref pairs`'s defaults) and `TrainConfig` are
embedded as they are. `codepref.loop.validate` checks a whole YAML file against these classes before any
stage runs.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codepref.coder import CPU_RECIPE
from codepref.generate import DEFAULT_BATCH_SIZE, DEFAULT_MAX_TOKENS, ENGINES, STYLE_CHOICES
from codepref.matrix import CODET_TESTS_PER_SAMPLE, DEFAULT_EXAMPLE_WEIGHT, DEFAULT_TEST_TIMEOUT_S
from codepref.model_judges.text_task import TextTaskSettings
from codepref.pairs.config import PairConfig
from codepref.sandbox import BACKENDS, DEFAULT_WORKERS
from codepref.settings import setting, settings_table
from codepref.steps.config import StepPairSettings
from codepref.train.config import TrainConfig

DEFAULT_DATA_DIR = Path("../shared/data")  # used when neither data_dir nor $CODEPREF_DATA_DIR is set
TASKS = ("code", "text")


@dataclass
class ProblemSet:
    benchmark: str = setting(help="A registered benchmark (codepref.data.benchmark_names()).")
    split: str | None = setting(
        None, "Where the benchmark has splits (mbpp: train, validation, test, prompt)."
    )
    limit: int | None = setting(None, "The first N problems, after offset (unset: all).", minimum=1)
    offset: int = setting(0, "Problems skipped from the start.", minimum=0)
    task_ids: list[str] | None = setting(None, "Only these problems.")

    @property
    def label(self) -> str:
        return self.benchmark + (f"-{self.split}" if self.split else "")

    def describe(self) -> str:
        """Which problems, as the run's report names them: `synth-train problems 2000-2063`."""
        if self.task_ids:
            return f"{self.label} ({len(self.task_ids)} chosen problems)"
        if self.limit is None:
            return f"{self.label} from problem {self.offset}" if self.offset else f"{self.label} (all)"
        return f"{self.label} problems {self.offset}-{self.offset + self.limit - 1}"


@dataclass
class GenerationSettings:
    backend: str = setting(
        "auto", "auto: vLLM where it can run (its CPU build, or CUDA build + GPU), else hf.", choices=ENGINES
    )
    style: str = setting(
        "auto",
        "Prompt style; auto: the starting model's (chat when it has a chat template).",
        choices=STYLE_CHOICES,
    )
    system_prompt: str | None = setting(None, "Chat style: the system turn.")
    solutions: int = setting(8, "Samples per training problem (pairs need two).", minimum=2)
    tests: int = setting(8, "Test samples per training problem.", minimum=1)
    temperature: float = setting(0.8, "Sampling temperature.", minimum=0)
    top_p: float = setting(0.95, "Nucleus sampling's probability mass.", above=0, maximum=1)
    max_tokens: int = setting(DEFAULT_MAX_TOKENS, "Tokens per solution.", minimum=1)
    test_max_tokens: int = setting(192, "Tokens per test sample.", minimum=1)
    seed: int = setting(0, "Sampling seed.")
    batch_size: int = setting(DEFAULT_BATCH_SIZE, "HF: sequences decoded together.", minimum=1)
    chunk_size: int = setting(64, "Prompts per generate call (and per flushed batch of records).", minimum=1)
    vllm: dict[str, Any] = setting(
        help="VLLMGenerator options (tensor_parallel_size, ...).", default_factory=dict
    )


@dataclass
class SandboxSettings:
    backend: str = setting("auto", "Where jobs run; ray is never chosen by auto.", choices=(*BACKENDS, "ray"))
    workers: int = setting(DEFAULT_WORKERS, "Sandboxes (per Ray node with backend ray).", minimum=1)
    memory_mb: int = setting(
        1024, "Memory of every job of the run: matrices, timing, evaluation.", minimum=64
    )
    address: str | None = setting(
        None, "backend ray: the cluster's head (unset: RAY_ADDRESS, or a local `ray start`)."
    )


@dataclass
class MatrixSettings:
    tests_per_sample: int = setting(
        CODET_TESTS_PER_SAMPLE,
        "CodeT keeps the first N valid asserts of each test sample (0: all).",
        minimum=0,
    )
    test_timeout_s: float = setting(DEFAULT_TEST_TIMEOUT_S, "Seconds per test.", above=0)
    prompt_examples: int = setting(
        DEFAULT_EXAMPLE_WEIGHT,
        "Weight of each example shown in the prompt (doctest lines or asserts) as a test column, counted as "
        "if sampled that many times; 0 leaves the prompt's examples out.",
        minimum=0,
    )


@dataclass
class EvalSettings:
    sets: list[ProblemSet] = setting(
        help="The problem sets evaluated after every round.",
        default_factory=lambda: [ProblemSet("humaneval"), ProblemSet("mbpp", "test")],
    )
    samples: int = setting(1, "Samples per problem.", minimum=1)
    temperature: float = setting(0.0, "Sampling temperature (0: greedy pass@1).", minimum=0)
    top_p: float = setting(0.95, "Nucleus sampling's probability mass.", above=0, maximum=1)
    max_tokens: int = setting(DEFAULT_MAX_TOKENS, "Tokens per sample.", minimum=1)
    # Each k must also lie in 1..samples: a rule across two fields, checked by codepref.loop.validate.
    ks: list[int] = setting(help="pass@k for each of these k.", default_factory=lambda: [1])


@dataclass
class LoopConfig:
    name: str = setting(help="The run's name: its folder under runs_dir.")
    model: str = setting(
        help='A local directory, a hub id, "tiny" (the test model) or "synth-coder[:RECIPE]" (codepref.coder).'
    )
    rounds: int = setting(1, "Rounds of generate -> ... -> evaluate.", minimum=0)
    model_fallback: str = setting(
        "none", "tiny: use the tiny local model when `model` cannot be loaded.", choices=("none", "tiny")
    )
    runs_dir: str = setting("runs", "Where run folders go.")
    data_dir: str | None = setting(None, "Benchmark data (unset: $CODEPREF_DATA_DIR, else ../shared/data).")
    train_problems: ProblemSet = setting(
        help="The problems whose samples become pairs.", default_factory=lambda: ProblemSet("mbpp", "train")
    )
    generation: GenerationSettings = setting(help="Sampling.", default_factory=GenerationSettings)
    sandbox: SandboxSettings = setting(help="Execution.", default_factory=SandboxSettings)
    matrix: MatrixSettings = setting(help="Code x test matrices.", default_factory=MatrixSettings)
    pairs: PairConfig = setting(help="Ranking and pairing (codepref pairs).", default_factory=PairConfig)
    train: TrainConfig = setting(help="Training (codepref train).", default_factory=TrainConfig)
    eval: EvalSettings = setting(help="Evaluation.", default_factory=EvalSettings)
    task: str = setting(
        "code",
        "code: execution-ranked pairs; text: model-judged pairs (codepref.loop.text_loop).",
        choices=TASKS,
    )
    text: TextTaskSettings | None = setting(None, "task: text: prompts, judge, sampling.")
    steps: StepPairSettings | None = setting(
        None, "Step-level pairs after the pairs stage (codepref.loop.step_stage)."
    )

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


def settings_tables() -> str:
    """The README's tables of every loop config setting, read from the fields: the top level, then one table
    per section (tests/test_loop_config.py holds the README to this)."""
    hints = typing.get_type_hints(LoopConfig)
    sections = {
        f.name: cls
        for f in dataclasses.fields(LoopConfig)
        for cls in (hints[f.name], *typing.get_args(hints[f.name]))
        if dataclasses.is_dataclass(cls)
    }
    lines = settings_table(LoopConfig, leave_out=sections)
    for f in dataclasses.fields(LoopConfig):
        if f.name in sections:
            lines += ["", f"`{f.name}:` {f.metadata['help']}", "", *settings_table(sections[f.name])]
    return "\n".join(lines)


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
