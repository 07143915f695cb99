"""The loop's `steps` stage (a config's `steps:` section, codepref.steps): step-level pairs verified by
executed rollouts of the round's model, mixed with the pairs stage's rows into the round's training file.

It verifies with what the round already has: the generate stage's sampled tests and the prompt's examples,
counted as the matrix stage counts them (`matrix.prompt_examples`), or the hidden tests with `verifier:
oracle` (the upper bound, not self-alignment). Rollouts, trees and pairs live in the stage's folder, so an
interrupted stage resumes without sampling or running anything already done.
"""

from __future__ import annotations

from pathlib import Path

from codepref.generate import Generator
from codepref.loop.stage_outputs import Generated, Pairs
from codepref.records import read_jsonl, write_jsonl
from codepref.sandbox import Sandbox
from codepref.steps.config import StepPairSettings
from codepref.steps.pair import mix_pairs, parse_ratio
from codepref.steps.source import make_step_pairs, tasks_with_verifiers
from codepref.steps.values import RolloutEngine
from codepref.tasks import Task


def step_pairs_stage(
    settings: StepPairSettings,
    tasks: list[Task],
    generator: Generator,
    sandbox: Sandbox,
    generated: Generated,
    instance_pairs: Pairs,
    example_weight: int,
    seed: int,
    out: Path,
) -> Pairs:
    if generated.style != "completion":
        raise ValueError("steps: step-level pairs need completion-style prompts (generation.style)")
    problems = tasks_with_verifiers(tasks, settings.verifier, Path(generated.tests_file), example_weight)
    engine = RolloutEngine(generator, sandbox, out / "rollouts.jsonl", settings.sampling(seed))
    step_pairs, _ = make_step_pairs(problems, engine, settings.search(), out)
    instance_rows = read_jsonl(Path(instance_pairs.pairs_file))
    rows = mix_pairs(instance_rows, [p.to_row() for p in step_pairs], parse_ratio(settings.ratio), seed)
    write_jsonl(out / "train_pairs.jsonl", rows)
    steps = sum("depth" in row for row in rows)
    return Pairs(
        pairs_file=str(out / "train_pairs.jsonl"),
        pairs=len(rows),
        ranked_pairs=sum(row.get("kind") not in (None, "executability") for row in rows),
        fallback_pairs=sum(row.get("kind") == "executability" for row in rows),
        problems_with_pairs=len({row["task_id"] for row in rows}),
        step_pairs=steps,
    )
