"""benchmarks/expert_iteration.py's samples: drawing them from a model (HF, or vLLM's CPU build), judging
each distinct one in the sandbox (against the hidden tests, or only the prompt's own `>>>` examples), and
measuring a model on an eval split."""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from codepref.evaluate.harness import evaluate_samples, judged_samples
from codepref.evaluate.passk import pass_at_k
from codepref.generate import GenerationRequest, read_generations
from codepref.generate.sampling import read_problem_samples, sample_problems
from codepref.matrix.examples import prompt_example_tests


def sample(
    model: Path,
    problems: list[Any],
    out: Path,
    n: int,
    temperature: float,
    seed: int,
    tests: bool = False,
    engine: str = "hf",
) -> dict:
    """task_id -> n completions of each solution prompt, or of each test prompt with `tests`, cut at the
    prompt's stops (resumable: a problem already in `out` is not sampled again)."""
    from codepref.generate.engines import make_engine

    if out.exists() and len(read_generations(out)) >= len(problems):  # done: no model to load
        return read_problem_samples(problems, out, tests=tests)
    request = GenerationRequest(
        prompts=(), n=n, temperature=temperature, top_p=0.95, max_tokens=128 if tests else 96, seed=seed
    )
    # A 2M-parameter model: HF in wide batches; vLLM's CPU build in float32, as its test checks it.
    options = {"batch_size": 160} if engine == "hf" else {"dtype": "float32"}
    with make_engine(engine, str(model), **options) as generator:
        return sample_problems(generator, problems, out, request, tests=tests)


def model_label(model: Path, given: bool) -> str:
    """The name a pool or a base measurement gives its model. A built coder's folder name carries its recipe's
    hash already; a model given by path (often `.../round-1/model`) also gets its weights' hash, so that two
    models in folders of one name never share a pool or a measurement."""
    if not given:
        return model.name
    digest = hashlib.sha256()
    for weights in sorted(model.glob("*.safetensors")):
        digest.update(weights.read_bytes())
    return f"{model.name}-{digest.hexdigest()[:12]}"


def pool_name(label: str, args: argparse.Namespace, seed: int) -> str:
    """The round-1 pool's folder: shared by every run of this model, these prompts and samples, this seed and
    this engine (vLLM's samples are not HF's for the same seed, so its pools never mix with HF's)."""
    engine = "" if args.engine == "hf" else f"-{args.engine}"
    return f"samples-{label}-{args.prompts}-{args.offset}+{args.limit}x{args.samples}-{seed}{engine}"


def judge(benchmark: str, problems: list[Any], completions: dict, out: Path, workers: int) -> dict:
    """task_id -> {completion: passes its hidden tests}, each distinct completion run once."""
    distinct = [(k, c) for k in completions for c in dict.fromkeys(completions[k])]
    samples = out.with_suffix(".distinct.jsonl")
    if not samples.exists():
        samples.write_text("".join(json.dumps({"task_id": k, "completion": c}) + "\n" for k, c in distinct))
    evaluate_samples(
        benchmark, samples, ks=[1], workers=workers, backend="process", progress=False, problems_list=problems
    )
    verdicts: dict[str, dict[str, bool]] = {k: {} for k in completions}
    for k, c, passed in judged_samples(samples):
        verdicts[k][c] = passed
    return verdicts


def example_verdicts(problems: list[Any], completions: dict, out: Path, workers: int, benchmark: str) -> dict:
    """task_id -> {completion: passes the prompt's own `>>>` examples}: the hidden tests are not used."""
    shown = [replace(p, test_list=tuple(prompt_example_tests(p.prompt, p.entry_point))) for p in problems]
    return judge(benchmark, shown, completions, out, workers)


def measure(model: Path, benchmark: str, problems: list[Any], out: Path, seed: int, workers: int) -> dict:
    """Greedy pass@1, sampled (T=0.8, n=10) pass@1 and pass@10, and each problem's passing count."""
    out.mkdir(parents=True, exist_ok=True)
    figures = out / "figures.json"
    if figures.exists():
        return json.loads(figures.read_text())
    greedy = sample(model, problems, out / "greedy.jsonl", 1, 0.0, seed)
    sampled = sample(model, problems, out / "sampled.jsonl", 10, 0.8, seed)
    g = judge(benchmark, problems, greedy, out / "greedy.jsonl", workers)
    s = judge(benchmark, problems, sampled, out / "sampled.jsonl", workers)
    counts = {k: sum(s[k][c] for c in sampled[k]) for k in sampled}
    result = {
        "greedy": float(np.mean([g[k][greedy[k][0]] for k in greedy])),
        "sampled": float(np.mean([c / 10 for c in counts.values()])),
        "pass@10": float(np.mean([pass_at_k(10, c, 10) for c in counts.values()])),
        "counts": counts,
    }
    figures.write_text(json.dumps(result))
    return result
