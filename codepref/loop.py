"""`codepref run [CONFIG.yaml]`: the self-alignment loop, from one config.

Round 0 evaluates the starting model. Each round r >= 1 then runs

    generate -> matrix -> rank -> pairs -> train -> evaluate

with round r-1's model: sample solutions and CodeT-style tests per training problem, execute every
solution against every test in the sandbox, rank the solutions without ground truth, draw preference
pairs, fine-tune with TRL, and measure pass@k of the trained model on the evaluation sets (with their
ground-truth tests). Every stage writes under `RUNS/NAME/round-R/STAGE/` and records `stage.json` when it
finishes; a stage whose `stage.json` holds the same inputs hash (settings + fingerprints of its input files)
is skipped, and an unfinished one resumes from its partial files, so a killed run picks up where it
stopped. At the end: a pass@k table per round (printed, `summary.json`, `summary.png`).

Without CONFIG the built-in default runs: the synth coder (codepref.coder, built here, no network) on the
synthetic task family (codepref.synth), evaluated on held-out compositions with hidden tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from codepref.records import read_finished_records
from codepref.train.config import TrainConfig

console = Console(stderr=True, soft_wrap=True)

STAGES = ("generate", "matrix", "rank", "pairs", "train", "evaluate")
DEFAULT_DATA_DIR = Path("../shared/data")  # fallback when neither data_dir nor $CODEPREF_DATA_DIR is set


# --- configuration ---------------------------------------------------------------------------------------


@dataclass
class ProblemSet:
    benchmark: str  # humaneval, humaneval+, mbpp, mbpp-sanitized, mbpp+
    split: str | None = None  # mbpp: train, validation, test, prompt
    limit: int | None = None  # the first N problems (after offset)
    offset: int = 0
    task_ids: list[str] | None = None

    @property
    def label(self) -> str:
        return self.benchmark + (f"-{self.split}" if self.split else "")


@dataclass
class GenerationSettings:
    backend: str = "auto"  # hf, vllm, auto (vLLM when importable and a GPU is visible)
    style: str = "auto"  # completion, chat, auto (chat for instruct/chat models)
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
    backend: str = "auto"
    workers: int = 2
    memory_mb: int = 1024


@dataclass
class MatrixSettings:
    tests_per_sample: int = 5  # CodeT keeps the first 5 valid asserts of each test sample
    test_timeout_s: float = 1.0


@dataclass
class PairSettings:
    method: str = "codedpo"  # codedpo, codet, dstc
    pairs_per_problem: int = 2
    min_margin: float = 0.0
    min_top_confidence: float | None = None  # None: the pairs stage's per-method default
    efficiency: bool = False  # CodeDPO's fast-over-slow pairs (times solutions in the sandbox)
    speedup: float = 1.2
    timing_repeats: int = 5
    seed: int = 0
    # "executability": where ranking yields no pair (no sampled test passes, or none was sampled), prefer a
    # solution that loads and defines the entry point over one that raises, over one that does not parse.
    fallback: str = "none"


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
    pairs: PairSettings = field(default_factory=PairSettings)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


_NESTED = {
    "train_problems": ProblemSet,
    "generation": GenerationSettings,
    "sandbox": SandboxSettings,
    "matrix": MatrixSettings,
    "pairs": PairSettings,
    "train": TrainConfig,
    "eval": EvalSettings,
}


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    values = dict(data)
    if cls is LoopConfig:
        for key, nested in _NESTED.items():
            if key in values:
                values[key] = _build(nested, values[key], f"{where}.{key}")
    if cls is EvalSettings and "sets" in values:
        values["sets"] = [_build(ProblemSet, s, f"{where}.sets[{i}]") for i, s in enumerate(values["sets"])]
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from None


def load_loop_config(path: str | Path) -> LoopConfig:
    """Read a loop config; errors name the file, and the field or YAML line."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such config file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark is not None else ""
        raise ValueError(f"{path}:{line} invalid YAML: {getattr(err, 'problem', err)}") from None
    for required in ("name", "model"):
        if not isinstance(data, dict) or required not in data:
            raise ValueError(f"{path}: field '{required}' is missing")
    return _check(_build(LoopConfig, data, str(path)), str(path))


def _check(cfg: LoopConfig, where: str) -> LoopConfig:
    if cfg.rounds < 0:
        raise ValueError(f"{where}: rounds must be >= 0")
    if cfg.generation.style not in ("auto", "completion", "chat"):
        raise ValueError(f"{where}: generation.style must be auto, completion or chat")
    if cfg.pairs.fallback not in ("none", "executability"):
        raise ValueError(f"{where}: pairs.fallback must be none or executability")
    if cfg.model_fallback not in ("none", "tiny"):
        raise ValueError(f"{where}: model_fallback must be none or tiny")
    return cfg


def default_config() -> LoopConfig:
    """The README's one-command run, offline: the synth coder (built here on first use, `codepref coder
    build`) on synth-train prompts it was not trained on, one round, greedy pass@1 on synth-heldout. The
    same settings as configs/synth-efficacy.yaml, on fewer problems."""
    from codepref.coder import CPU_RECIPE

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
        pairs=PairSettings(method="codedpo", pairs_per_problem=2),
        train=TrainConfig(learning_rate=2e-4, beta=0.1, epochs=1, batch_size=8, max_length=512),
        eval=EvalSettings(sets=[ProblemSet("synth-heldout", limit=100)], max_tokens=96),
    )


# Settings that make the tiny random model's round meaningful: it cannot write tests or correct code, so
# short samples give some that parse and load (the executability fallback's signal), and a high learning
# rate makes one round of training visible.
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


# --- models ----------------------------------------------------------------------------------------------


def resolve_model(cfg: LoopConfig) -> tuple[str, LoopConfig]:
    """A local directory for `cfg.model` (building or downloading it), falling back to the tiny model."""
    if cfg.model == "tiny":
        return str(tiny_model_dir()), cfg
    if cfg.model.startswith("synth-coder"):  # synth-coder[:RECIPE], built here on first use
        from codepref.coder import RECIPES, cached_coder

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
    from codepref.generate.tiny import cached_tiny_model, default_cache_dir

    return cached_tiny_model(default_cache_dir() / "models")


def is_chat_model(model_dir: str) -> bool:
    config = Path(model_dir) / "tokenizer_config.json"
    has_template = (Path(model_dir) / "chat_template.jinja").exists() or (
        config.exists() and "chat_template" in json.loads(config.read_text(encoding="utf-8"))
    )
    name = str(model_dir).lower()
    return has_template and ("instruct" in name or "chat" in name)


class Models:
    """One generator at a time: built for a model on first use, closed before training or a model switch."""

    def __init__(self, cfg: GenerationSettings) -> None:
        self.cfg = cfg
        self.path: str | None = None
        self.generator: Any = None
        self._tokenizers: dict[str, Any] = {}

    def generator_for(self, model: str) -> Any:
        from codepref.generate import make_generator

        if self.path != model:
            self.close()
            options = (
                dict(self.cfg.vllm) if self._backend() == "vllm" else {"batch_size": self.cfg.batch_size}
            )
            self.generator = make_generator(self._backend(), model, **options)
            self.path = model
        return self.generator

    def tokenizer_for(self, model: str) -> Any:
        from transformers import AutoTokenizer

        if model not in self._tokenizers:
            self._tokenizers[model] = AutoTokenizer.from_pretrained(model)
        return self._tokenizers[model]

    def _backend(self) -> str:
        from codepref.generate import vllm_usable

        backend = self.cfg.backend
        return ("vllm" if vllm_usable() else "hf") if backend == "auto" else backend

    def close(self) -> None:
        if self.generator is not None:
            self.generator.close()
        self.generator, self.path = None, None


# --- tasks: a benchmark problem as prompts and programs ----------------------------------------------------


@dataclass
class Task:
    """A problem as the loop samples it: a HumanEval-style prompt whose completion is the function body."""

    problem: Any  # codepref.data.Problem
    prompt: str
    key: str

    @property
    def entry_point(self) -> str:
        return self.problem.entry_point


def make_task(problem: Any, set_label: str = "") -> Task:
    from codepref.generate.prompts import function_prompt, mbpp_prompt

    if problem.completion_extends_prompt:
        prompt = problem.prompt
    else:  # MBPP: a task sentence and asserts; build the header from the reference's signature
        example = problem.test_list[0] if problem.test_list else ""
        prompt = function_prompt(
            problem.entry_point, problem.canonical_solution, problem.description, example
        ) or mbpp_prompt(problem.description or problem.prompt, example)
    return Task(
        problem=problem, prompt=prompt, key=f"{set_label}:{problem.task_id}" if set_label else problem.task_id
    )


def solution_prompt(task: Task, style: str, tokenizer: Any, system: str | None) -> Any:
    from codepref.generate import prompts

    if style == "chat":
        return prompts.chat_solution_prompt(task.prompt, task.entry_point, tokenizer, system)
    return prompts.solution_prompt(task.prompt, task.entry_point)


def test_prompt(task: Task, style: str, tokenizer: Any, system: str | None) -> Any:
    from codepref.generate import prompts

    if style == "chat":
        return prompts.chat_codet_test_prompt(task.prompt, task.entry_point, tokenizer, system)
    return prompts.codet_test_prompt(task.prompt, task.entry_point)


def solution_parts(task: Task, style: str, text: str, stop: tuple[str, ...]) -> tuple[str, str]:
    """(prefix, solution) with prefix + solution the program: the prompt and the cut completion, or, for a
    chat answer, the prompt's imports and the extracted code."""
    from codepref.generate.extract import extract_code, truncate_at_stop

    if style == "chat":
        return _imports_of(task.prompt), extract_code(text, task.entry_point)
    body, _ = truncate_at_stop(text, stop)
    return task.prompt, body


def _imports_of(source: str) -> str:
    lines = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    return "".join(line + "\n" for line in lines) + ("\n" if lines else "")


# --- stage bookkeeping -----------------------------------------------------------------------------------


def fingerprint(path: str | Path) -> str:
    """Content hash of a file or directory; big files (model weights) are hashed by size, mtime and their
    first and last MiB, which is enough to notice a different model without reading gigabytes."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if "checkpoints" in file.parts or file.name == "stage.json":
            continue
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        size = file.stat().st_size
        with file.open("rb") as fh:
            if size <= 64 << 20:
                digest.update(fh.read())
            else:
                digest.update(f"{size}:{file.stat().st_mtime_ns}".encode())
                digest.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), 2)
                digest.update(fh.read())
    return digest.hexdigest()[:16]


@dataclass
class StageOutcome:
    name: str
    round: int
    status: str  # "ran" or "skipped"
    summary: dict[str, Any]
    seconds: float


class StageRunner:
    """Runs or skips stages, remembering what happened for the end-of-run report."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.outcomes: list[StageOutcome] = []

    def stage_dir(self, round_index: int, name: str) -> Path:
        return self.run_dir / f"round-{round_index}" / name

    def run(
        self, round_index: int, name: str, inputs: dict[str, Any], body: Callable[[Path], dict[str, Any]]
    ) -> dict[str, Any]:
        directory = self.stage_dir(round_index, name)
        inputs_hash = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[
            :16
        ]
        marker, started_file = directory / "stage.json", directory / "inputs.json"
        if marker.exists():
            record = json.loads(marker.read_text(encoding="utf-8"))
            if record.get("inputs_hash") == inputs_hash:
                console.print(f"round {round_index} {name}: up to date, skipped", highlight=False)
                self.outcomes.append(StageOutcome(name, round_index, "skipped", record["summary"], 0.0))
                return record["summary"]
        if started_file.exists() and json.loads(started_file.read_text()).get("inputs_hash") != inputs_hash:
            shutil.rmtree(directory)  # partial outputs of other inputs: start over
        elif marker.exists():
            marker.unlink()
        directory.mkdir(parents=True, exist_ok=True)
        started_file.write_text(
            json.dumps({"inputs_hash": inputs_hash, "inputs": inputs}, indent=1, default=str)
        )
        console.print(f"round {round_index} {name}: running", highlight=False)
        started = time.perf_counter()
        summary = body(directory)
        seconds = time.perf_counter() - started
        record = {
            "stage": name,
            "round": round_index,
            "inputs_hash": inputs_hash,
            "summary": summary,
            "seconds": round(seconds, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        marker.write_text(json.dumps(record, indent=1, default=str) + "\n")  # written last: the stage is done
        console.print(
            f"round {round_index} {name}: done in {seconds:.1f} s {summary_line(summary)}", highlight=False
        )
        self.outcomes.append(StageOutcome(name, round_index, "ran", summary, seconds))
        return summary


def summary_line(summary: dict[str, Any]) -> str:
    shown = {k: v for k, v in _flat(summary).items() if isinstance(v, int | float | str) and k != "model"}
    return (
        "("
        + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
        + ")"
    )


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        out.update(_flat(value, name + " ") if isinstance(value, dict) else {name: value})
    return out


# --- the loop --------------------------------------------------------------------------------------------


@dataclass
class RoundResult:
    round: int
    model: str
    scores: dict[str, dict[str, float]]  # eval set label -> {"pass@1": ...}
    pairs: int | None = None
    train_loss: float | None = None
    trained: bool = False


@dataclass
class RunResult:
    run_dir: Path
    rounds: list[RoundResult]
    outcomes: list[StageOutcome]


class Loop:
    def __init__(self, cfg: LoopConfig, data_dir: str | None = None) -> None:
        self.cfg = cfg
        self.data_dir = data_dir or cfg.data_dir
        self.runner = StageRunner(cfg.run_dir)
        self.models = Models(cfg.generation)
        self._stack = contextlib.ExitStack()
        self._sandbox: Any = None

    # resources ---------------------------------------------------------------------------------------------

    def sandbox(self) -> Any:
        if self._sandbox is None:
            from codepref.sandbox import Limits, Sandbox

            s = self.cfg.sandbox
            self._sandbox = self._stack.enter_context(
                Sandbox(backend=s.backend, workers=s.workers, limits=Limits(memory_mb=s.memory_mb))
            )
        return self._sandbox

    def resolved_data_dir(self) -> str | None:
        """The configured data directory, else $CODEPREF_DATA_DIR (None: the loaders read it), else
        ../shared/data when it exists."""
        import os

        from codepref.data import DATA_DIR_ENV

        if self.data_dir is None and not os.environ.get(DATA_DIR_ENV) and DEFAULT_DATA_DIR.is_dir():
            return str(DEFAULT_DATA_DIR)
        return self.data_dir

    def problems(self, spec: ProblemSet) -> list[Any]:
        from codepref.data import load_problems

        problems = load_problems(spec.benchmark, self.resolved_data_dir(), split=spec.split)
        if spec.task_ids:
            wanted = set(spec.task_ids)
            problems = [p for p in problems if p.task_id in wanted]
        problems = problems[spec.offset :]
        return problems[: spec.limit] if spec.limit is not None else problems

    def style(self, model: str) -> str:
        style = self.cfg.generation.style
        return ("chat" if is_chat_model(model) else "completion") if style == "auto" else style

    # driver ------------------------------------------------------------------------------------------------

    def run(self) -> RunResult:
        with self._stack:
            model, self.cfg = resolve_model(self.cfg)
            self.models = Models(self.cfg.generation)  # the fallback may have changed generation settings
            self.cfg.run_dir.mkdir(parents=True, exist_ok=True)
            (self.cfg.run_dir / "config.json").write_text(json.dumps(asdict(self.cfg), indent=1, default=str))
            results = [RoundResult(0, model, self.evaluate(0, model))]
            for r in range(1, self.cfg.rounds + 1):
                results.append(self.round(r, model))
                model = results[-1].model
            self.models.close()
        write_summary(self.cfg.run_dir, results, self.cfg.eval.ks)
        return RunResult(self.cfg.run_dir, results, self.runner.outcomes)

    def round(self, r: int, model: str) -> RoundResult:
        tasks = [make_task(p) for p in self.problems(self.cfg.train_problems)]
        self.generate(r, model, tasks)
        self.matrix(r, tasks)
        self.rank(r)
        pairs = self.pairs(r, tasks)
        trained = self.train(r, model)
        new_model = trained.get("model", model)
        return RoundResult(
            r,
            new_model,
            self.evaluate(r, new_model),
            pairs=pairs.get("pairs"),
            train_loss=trained.get("train_loss"),
            trained=bool(trained.get("trained")),
        )

    # stages ------------------------------------------------------------------------------------------------

    def generate(self, r: int, model: str, tasks: list[Task]) -> dict[str, Any]:
        g = self.cfg.generation
        inputs = {
            "model": fingerprint(model),
            "settings": asdict(g),
            "tasks": [t.key for t in tasks],
            "prompts": hashlib.sha256("".join(t.prompt for t in tasks).encode()).hexdigest()[:16],
        }

        def body(out: Path) -> dict[str, Any]:
            from codepref.generate import GenerationRequest, PromptRecord, generate_jsonl

            style = self.style(model)
            tokenizer = self.models.tokenizer_for(model) if style == "chat" else None
            generator = self.models.generator_for(model)
            sol = [(t, solution_prompt(t, style, tokenizer, g.system_prompt)) for t in tasks]
            tst = [(t, test_prompt(t, style, tokenizer, g.system_prompt)) for t in tasks]
            for kind, prompted, n, max_tokens in (
                ("solutions", sol, g.solutions, g.max_tokens),
                ("tests", tst, g.tests, g.test_max_tokens),
            ):
                records = [
                    PromptRecord(
                        key=t.key,
                        prompt=p.text,
                        stop=p.stop,
                        meta={"task_id": t.problem.task_id, "entry_point": t.entry_point},
                    )
                    for t, p in prompted
                ]
                request = GenerationRequest(
                    prompts=(),
                    n=n,
                    temperature=g.temperature,
                    top_p=g.top_p,
                    max_tokens=max_tokens,
                    seed=g.seed + r,
                )
                generate_jsonl(generator, records, out / f"{kind}.jsonl", request, chunk_size=g.chunk_size)
            return {
                "style": style,
                "problems": len(tasks),
                "solutions": len(tasks) * g.solutions,
                "test_samples": len(tasks) * g.tests,
            }

        return self.runner.run(r, "generate", inputs, body)

    def matrix(self, r: int, tasks: list[Task]) -> dict[str, Any]:
        gen_dir = self.runner.stage_dir(r, "generate")
        inputs = {
            "solutions": fingerprint(gen_dir / "solutions.jsonl"),
            "tests": fingerprint(gen_dir / "tests.jsonl"),
            "settings": asdict(self.cfg.matrix),
        }

        def body(out: Path) -> dict[str, Any]:
            from codepref.matrix import MatrixProblem, build_matrices

            style = json.loads((gen_dir / "stage.json").read_text())["summary"]["style"]
            solutions, tests = _by_key(gen_dir / "solutions.jsonl"), _by_key(gen_dir / "tests.jsonl")
            problems = []
            for task in tasks:
                record = solutions[task.key]
                stop = tuple(solution_prompt(task, "completion", None, None).stop)
                parts = [solution_parts(task, style, c["text"], stop) for c in record["completions"]]
                prefix = parts[0][0] if parts else task.prompt
                problems.append(
                    MatrixProblem.from_raw(
                        task.key,
                        prefix,
                        task.entry_point,
                        [body for _, body in parts],
                        [c["text"] for c in tests[task.key]["completions"]],
                        limit=self.cfg.matrix.tests_per_sample or None,
                    )
                )
            matrices, stats = build_matrices(
                problems, out / "matrix.jsonl", self.sandbox(), test_timeout_s=self.cfg.matrix.test_timeout_s
            )
            if stats.problems_incomplete:
                raise RuntimeError(
                    f"{stats.problems_incomplete} problem(s) hit sandbox errors; rerun to retry"
                )
            return {
                "problems": len(matrices),
                "jobs": stats.jobs,
                "tests": sum(m.shape[1] for m in matrices),
                "cells": int(sum(m.passed.size for m in matrices)),
                "passing_cells": int(sum(m.passed.sum() for m in matrices)),
            }

        return self.runner.run(r, "matrix", inputs, body)

    def pair_config(self) -> Any:
        from codepref.pairs import PairConfig

        p = self.cfg.pairs
        return PairConfig(
            method=p.method,
            pairs_per_problem=p.pairs_per_problem,
            min_margin=p.min_margin,
            min_top_confidence=p.min_top_confidence,
            efficiency=p.efficiency,
            speedup=p.speedup,
            timing_repeats=p.timing_repeats,
            seed=p.seed,
        )

    def rank(self, r: int) -> dict[str, Any]:
        matrix_file = self.runner.stage_dir(r, "matrix") / "matrix.jsonl"
        inputs = {
            "matrix": fingerprint(matrix_file),
            "method": self.cfg.pairs.method,
            "seed": self.cfg.pairs.seed,
        }

        def body(out: Path) -> dict[str, Any]:
            from codepref.matrix import load_matrices
            from codepref.pairs import rank_matrix

            config, ranked, trusted = self.pair_config(), 0, 0
            with (out / "rankings.jsonl").open("w", encoding="utf-8") as fh:
                for matrix in load_matrices(matrix_file):
                    ranking = rank_matrix(matrix, config)
                    top = [int(i) for i in ranking.top_candidates()]
                    best = float(ranking.confidence[ranking.order[0]]) if len(ranking.order) else 0.0
                    ranked += 1
                    trusted += best > config.min_top_confidence
                    fh.write(
                        json.dumps(
                            {
                                "task_id": matrix.task_id,
                                "n": matrix.shape[0],
                                "m": matrix.shape[1],
                                "order": [int(i) for i in ranking.order],
                                "top": top,
                                "top_confidence": best,
                            }
                        )
                        + "\n"
                    )
            return {"problems": ranked, "with_trusted_top": trusted}

        return self.runner.run(r, "rank", inputs, body)

    def pairs(self, r: int, tasks: list[Task]) -> dict[str, Any]:
        matrix_file = self.runner.stage_dir(r, "matrix") / "matrix.jsonl"
        gen_dir = self.runner.stage_dir(r, "generate")
        inputs = {
            "matrix": fingerprint(matrix_file),
            "solutions": fingerprint(gen_dir / "solutions.jsonl"),
            "settings": asdict(self.cfg.pairs),
        }

        def body(out: Path) -> dict[str, Any]:
            from codepref.matrix import load_matrices
            from codepref.pairs import PreferencePair, SandboxTimer, write_pairs

            config = self.pair_config()
            timer = SandboxTimer(self.sandbox()) if config.efficiency else None
            matrices = list(load_matrices(matrix_file))
            counts = write_pairs(matrices, out / "ranked", config, timer=timer)
            pairs = [PreferencePair(**row) for row in read_finished_records(out / "ranked" / "pairs.jsonl")]
            paired = {p.task_id for p in pairs}
            fallback: list[Any] = []
            if self.cfg.pairs.fallback == "executability":
                todo = [m for m in matrices if m.task_id not in paired]
                fallback = executability_pairs(
                    todo, {t.key: t for t in tasks}, self.sandbox(), self.cfg.pairs.pairs_per_problem
                )
            style = json.loads((gen_dir / "stage.json").read_text())["summary"]["style"]
            rows = training_rows(pairs + fallback, style, _by_key(gen_dir / "solutions.jsonl"))
            _write_jsonl(out / "train_pairs.jsonl", rows)
            return {
                "pairs": len(rows),
                "ranked_pairs": counts["pairs"],
                "fallback_pairs": len(fallback),
                "problems_with_pairs": len({row["task_id"] for row in rows}),
            }

        return self.runner.run(r, "pairs", inputs, body)

    def train(self, r: int, model: str) -> dict[str, Any]:
        pairs_file = self.runner.stage_dir(r, "pairs") / "train_pairs.jsonl"
        inputs = {
            "pairs": fingerprint(pairs_file),
            "model": fingerprint(model),
            "settings": asdict(self.cfg.train),
        }

        def body(out: Path) -> dict[str, Any]:
            from codepref.train.trainer import train

            if not read_finished_records(pairs_file):
                console.print(f"round {r} train: no preference pairs, the model is carried over unchanged")
                return {"trained": False, "model": model, "examples": 0}
            self.models.close()  # give the GPU to training
            result = train(pairs_file, model, out / "model", self.cfg.train)
            return {
                "trained": True,
                "model": str(out / "model"),
                "examples": result.examples,
                "steps": result.steps,
                "train_loss": result.metrics.get("train_loss"),
                "samples_per_s": result.metrics.get("train_samples_per_second"),
            }

        return self.runner.run(r, "train", inputs, body)

    def evaluate(self, r: int, model: str) -> dict[str, dict[str, float]]:
        e = self.cfg.eval
        inputs = {
            "model": fingerprint(model),
            "settings": asdict(e),
            "style": self.cfg.generation.style,
            "system_prompt": self.cfg.generation.system_prompt,
        }

        def body(out: Path) -> dict[str, Any]:
            scores = {}
            for spec in e.sets:
                scores[spec.label] = self.evaluate_set(model, spec, out)
            return {"scores": scores}

        return self.runner.run(r, "evaluate", inputs, body)["scores"]

    def evaluate_set(self, model: str, spec: ProblemSet, out: Path) -> dict[str, float]:
        """Sample the set's problems, then score the programs with `codepref eval`'s own runner."""
        from codepref.evaluate.runner import evaluate_samples
        from codepref.generate import GenerationRequest, PromptRecord, generate_jsonl

        e, g = self.cfg.eval, self.cfg.generation
        tasks = [make_task(p, spec.label) for p in self.problems(spec)]
        style = self.style(model)
        tokenizer = self.models.tokenizer_for(model) if style == "chat" else None
        prompted = {t.key: solution_prompt(t, style, tokenizer, g.system_prompt) for t in tasks}
        samples_file = out / f"{spec.label}.samples.jsonl"
        records = [
            PromptRecord(
                key=t.key,
                prompt=prompted[t.key].text,
                stop=prompted[t.key].stop,
                meta={"task_id": t.problem.task_id},
            )
            for t in tasks
        ]
        request = GenerationRequest(
            prompts=(),
            n=e.samples,
            temperature=e.temperature,
            top_p=e.top_p,
            max_tokens=e.max_tokens,
            seed=g.seed,
        )
        generate_jsonl(
            self.models.generator_for(model), records, samples_file, request, chunk_size=g.chunk_size
        )
        # One line per sample with the full program, the input format of `codepref eval`.
        by_key = {t.key: t for t in tasks}
        programs = []
        for key, record in _by_key(samples_file).items():
            task = by_key[key]
            stop = prompted[key].stop if style == "completion" else ()
            for completion in record["completions"]:
                prefix, solution = solution_parts(task, style, completion["text"], stop)
                programs.append({"task_id": task.problem.task_id, "solution": prefix + solution})
        programs_file = out / f"{spec.label}.programs.jsonl"
        if not programs_file.exists():  # deterministic from the samples; results are keyed by its lines
            _write_jsonl(programs_file, programs)
        s = self.cfg.sandbox
        report = evaluate_samples(
            spec.benchmark,
            programs_file,
            ks=e.ks,
            workers=s.workers,
            backend=s.backend,
            data_dir=self.resolved_data_dir(),
            split=spec.split,
            results_path=out / f"{spec.label}.results.jsonl",
        )
        if report.sandbox_errors:
            raise RuntimeError(
                f"{report.sandbox_errors} sample(s) of {spec.label} hit sandbox errors; rerun to retry"
            )
        return {**report.scores, "problems": report.problems_evaluated}


# --- pair helpers ----------------------------------------------------------------------------------------


def executability_pairs(
    matrices: list[Any], tasks: dict[str, Task], sandbox: Any, per_problem: int
) -> list[Any]:
    """Pairs from running each distinct solution as a plain program (no sampled test involved).

    Levels: 2 loads and defines the entry point, 1 parses but raises (or lacks the function), 0 does not
    parse. Each pair prefers a higher level; used only where ranking gave a problem no pair.
    """
    from codepref.pairs import PreferencePair, distinct_texts
    from codepref.sandbox import Job, Status

    jobs, owners = [], {}
    for matrix in matrices:
        entry = tasks[matrix.task_id].entry_point
        for i in distinct_texts(range(len(matrix.solutions)), matrix.solutions):
            job = Job(
                program=matrix.prompt + matrix.solutions[i],
                tests=(f"assert callable({entry})",),
                as_main=False,
                test_timeout_s=2.0,
                timeout_s=10.0,
            )
            jobs.append(job)
            owners[job.job_id] = (matrix.task_id, i)
    levels: dict[str, dict[int, int]] = {}
    for verdict in sandbox.run_many(jobs):
        if verdict.status == Status.SANDBOX_ERROR:
            raise RuntimeError(f"sandbox error in executability check: {verdict.error}")
        task_id, i = owners[verdict.job_id]
        syntax = verdict.error.startswith(("SyntaxError", "IndentationError", "TabError"))
        levels.setdefault(task_id, {})[i] = 2 if verdict.passed else 0 if syntax else 1
    pairs = []
    for matrix in matrices:
        ranked = sorted(levels.get(matrix.task_id, {}).items(), key=lambda item: (-item[1], item[0]))
        better = [i for i, level in ranked if level == ranked[0][1]] if ranked else []
        worse = [i for i, level in ranked if ranked and level < ranked[0][1]][::-1]  # the worst first
        for chosen, rejected in list(zip(better, worse, strict=False))[:per_problem]:
            lc, lr = levels[matrix.task_id][chosen], levels[matrix.task_id][rejected]
            pairs.append(
                PreferencePair(
                    prompt=matrix.prompt,
                    chosen=matrix.solutions[chosen],
                    rejected=matrix.solutions[rejected],
                    method="executability",
                    task_id=matrix.task_id,
                    chosen_score=float(lc),
                    rejected_score=float(lr),
                    margin=float(lc - lr),
                    kind="executability",
                    chosen_id=matrix.solution_ids[chosen],
                    rejected_id=matrix.solution_ids[rejected],
                )
            )
    return pairs


def training_rows(pairs: list[Any], style: str, solutions: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """TRL preference rows. Completion style trains on exactly what ran (prompt, cut completion); chat
    style on the model's own chat prompt and whole answers, looked up by solution id (`KEY#i`)."""
    rows = []
    for pair in pairs:
        row = asdict(pair)
        if style == "chat":
            record = solutions[pair.task_id]
            row["prompt"] = record["prompt"]
            for side in ("chosen", "rejected"):
                index = int(row[f"{side}_id"].rsplit("#", 1)[1])
                row[side] = record["completions"][index]["text"]
        rows.append(row)
    return rows


# --- files and summary -----------------------------------------------------------------------------------


def _by_key(path: Path) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in read_finished_records(path)}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    tmp.replace(path)


def write_summary(run_dir: Path, results: list[RoundResult], ks: list[int]) -> None:
    labels = list(results[0].scores) if results else []
    metrics = [f"pass@{k}" for k in ks]
    table = Table(title=f"pass@k per round ({run_dir})")
    table.add_column("round")
    for label in labels:
        for metric in metrics:
            table.add_column(f"{label} {metric}", justify="right")
    table.add_column("pairs", justify="right")
    table.add_column("train loss", justify="right")
    for res in results:
        cells = [
            f"{res.scores.get(label, {}).get(metric, float('nan')):.3f}"
            for label in labels
            for metric in metrics
        ]
        loss = "" if res.train_loss is None else f"{res.train_loss:.4f}"
        table.add_row(
            str(res.round) + (" (start)" if res.round == 0 else ""),
            *cells,
            "" if res.pairs is None else str(res.pairs),
            loss,
        )
    Console(soft_wrap=True).print(table)
    (run_dir / "summary.json").write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    _plot_summary(run_dir / "summary.png", results, labels, metrics)


def _plot_summary(path: Path, results: list[RoundResult], labels: list[str], metrics: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    rounds = [r.round for r in results]
    for label in labels:
        for metric in metrics:
            ax.plot(
                rounds,
                [r.scores.get(label, {}).get(metric, float("nan")) for r in results],
                marker="o",
                label=f"{label} {metric}",
            )
    ax.set_xlabel("round (0: starting model)")
    ax.set_ylabel("pass@k")
    ax.set_xticks(rounds)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- command line ----------------------------------------------------------------------------------------


def run_command(
    config: Annotated[
        Path | None, typer.Argument(help="Loop config YAML (see configs/); omit for the built-in default.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", envvar="CODEPREF_DATA_DIR", help="Directory holding the benchmark files."),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option("--rounds", help="Override the config's number of rounds.")
    ] = None,
    runs_dir: Annotated[
        Path | None, typer.Option("--runs-dir", help="Override where runs are written.")
    ] = None,
) -> None:
    """Run the self-alignment loop: rounds of generate -> matrix -> rank -> pairs -> train -> evaluate."""
    try:
        cfg = load_loop_config(config) if config is not None else default_config()
        if rounds is not None:
            cfg.rounds = rounds
        if runs_dir is not None:
            cfg.runs_dir = str(runs_dir)
        result = Loop(cfg, str(data_dir) if data_dir else None).run()
    except ValueError as err:
        console.print(f"[red]error:[/red] {err}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"run written to {result.run_dir} (summary.json, summary.png)", highlight=False)


def iter_stage_files(run_dir: Path) -> Iterator[Path]:
    """Every finished stage's record, in round and stage order (for reports and tests)."""
    for round_dir in sorted(run_dir.glob("round-*"), key=lambda p: int(p.name.split("-")[1])):
        for name in STAGES:
            marker = round_dir / name / "stage.json"
            if marker.exists():
                yield marker
