"""`codepref steps pairs BENCHMARK --model M --method step-dpo|mcts -o OUT`: step-level pairs verified by
execution (codepref.steps); `codepref steps mix` puts them beside instance-level pairs at a ratio.

Every setting is checked before a model loads: a bad one stops the command with one line naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codepref.data import BENCHMARKS, DataFileError, load_problems
from codepref.generate import make_generator
from codepref.records import read_jsonl, write_jsonl
from codepref.sandbox import DEFAULT_WORKERS, Sandbox
from codepref.sandbox.types import limits_profile
from codepref.steps.config import StepPairSettings
from codepref.steps.pair import STEP_METHODS, mix_pairs, parse_ratio
from codepref.steps.source import VerifierSettings, make_step_pairs, step_problems
from codepref.steps.values import RolloutEngine

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
STEPS, VERIFY = StepPairSettings(), VerifierSettings()


@app.command("pairs")
def pairs_command(
    benchmark: Annotated[str, typer.Argument(help=f"one of {', '.join(BENCHMARKS)}")],
    model: Annotated[Path, typer.Option(help="model directory (the policy), prompted completion-style")],
    out: Annotated[Path, typer.Option("-o", "--out", help="directory: caches, trees, pairs.jsonl, summary")],
    method: Annotated[str, typer.Option(help="step-dpo or mcts")] = STEPS.method,
    limit: Annotated[int | None, typer.Option(help="the first N problems only")] = None,
    verifier: Annotated[
        str, typer.Option(help="sampled (tests + examples) or oracle (hidden tests)")
    ] = STEPS.verifier,
    tests_per_problem: Annotated[
        int, typer.Option(help="test completions sampled")
    ] = VERIFY.tests_per_problem,
    example_weight: Annotated[int, typer.Option(help="count of each prompt example")] = VERIFY.example_weight,
    rollouts: Annotated[int, typer.Option(help="step-dpo: rollouts per prefix value")] = STEPS.rollouts,
    programs: Annotated[int, typer.Option(help="step-dpo: programs searched per prompt")] = STEPS.programs,
    threshold: Annotated[float, typer.Option(help="step-dpo: value a good prefix keeps")] = STEPS.threshold,
    candidates: Annotated[
        int, typer.Option(help="step-dpo: good steps tried per bad one")
    ] = STEPS.candidates,
    budget: Annotated[int, typer.Option(help="mcts: rollouts per prompt")] = STEPS.budget,
    width: Annotated[int, typer.Option(help="mcts: continuations per expansion")] = STEPS.width,
    exploration: Annotated[float, typer.Option(help="mcts: UCT constant")] = STEPS.exploration,
    min_visits: Annotated[
        int, typer.Option(help="mcts: rollouts through each paired step")
    ] = STEPS.min_visits,
    min_gap: Annotated[float, typer.Option(help="mcts: value gap a pair must exceed")] = STEPS.min_gap,
    lines_per_step: Annotated[
        int | None, typer.Option(help="physical lines per step (default: logical)")
    ] = STEPS.lines_per_step,
    temperature: Annotated[float, typer.Option(help="sampling temperature")] = STEPS.temperature,
    max_tokens: Annotated[int, typer.Option(help="tokens per continuation")] = STEPS.max_tokens,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    engine: Annotated[str, typer.Option(help="generator: hf, vllm or auto")] = "auto",
    device: Annotated[str, typer.Option(help="hf: cpu, cuda or auto")] = "auto",
    backend: Annotated[str, typer.Option(help="sandbox backend")] = "auto",
    workers: Annotated[int, typer.Option(help="sandbox workers")] = DEFAULT_WORKERS,
) -> None:
    """Sample, execute and search each problem's steps; write step pairs and what they cost."""
    if benchmark not in BENCHMARKS:
        raise typer.BadParameter(f"unknown benchmark {benchmark!r}", param_hint="BENCHMARK")
    if method not in STEP_METHODS:  # before the model check, named as the option it is
        raise typer.BadParameter(f"choose one of {', '.join(STEP_METHODS)}", param_hint="--method")
    if not model.is_dir():
        raise typer.BadParameter(f"{model} is not a model directory", param_hint="--model")
    try:
        steps = StepPairSettings(
            method, verifier=verifier, programs=programs, rollouts=rollouts, threshold=threshold,
            candidates=candidates, budget=budget, width=width, exploration=exploration,
            min_visits=min_visits, min_gap=min_gap, lines_per_step=lines_per_step,
            temperature=temperature, max_tokens=max_tokens,
        )  # fmt: skip
        verify = VerifierSettings(verifier, tests_per_problem, example_weight)
        problems = load_problems(benchmark)[:limit]
    except (ValueError, DataFileError) as error:
        raise typer.BadParameter(str(error)) from None
    with (
        make_generator(engine, str(model), device=device) as generator,
        Sandbox(backend, workers, limits_profile("execution")) as sandbox,
    ):
        step = step_problems(problems, generator, verify, out, seed)
        rollout_engine = RolloutEngine(generator, sandbox, out / "rollouts.jsonl", steps.sampling(seed))
        pairs, summary = make_step_pairs(step, rollout_engine, steps.search(), out)
    typer.echo(
        f"{summary['pairs']} {method} pairs from {summary['problems_with_pairs']}/{summary['problems']} problems; "
        f"{summary['rollouts']} rollouts, {summary['executions']} executions; {out / 'pairs.jsonl'}"
    )


@app.command("mix")
def mix_command(
    instance_pairs: Annotated[Path, typer.Argument(help="instance-level pairs (pairs.jsonl)")],
    step_pairs: Annotated[Path, typer.Argument(help="step-level pairs (codepref steps pairs)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="the mixed pairs file (JSONL)")],
    ratio: Annotated[str, typer.Option(help="INSTANCE:STEP rows, e.g. 1:1")] = STEPS.ratio,
    seed: Annotated[int, typer.Option(help="sampling and shuffling seed")] = 0,
) -> None:
    """Mix instance-level and step-level pairs into one training file."""
    try:
        parts = parse_ratio(ratio)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--ratio") from None
    for path, hint in ((instance_pairs, "INSTANCE_PAIRS"), (step_pairs, "STEP_PAIRS")):
        if not path.exists():
            raise typer.BadParameter(f"{path} does not exist", param_hint=hint)
    mixed = mix_pairs(read_jsonl(instance_pairs), read_jsonl(step_pairs), parts, seed)
    write_jsonl(out, mixed)
    typer.echo(f"{len(mixed)} pairs -> {out}")
