"""What a benchmark measures a loop's round with and the loop itself never sees: whether each of the
round's sampled solutions passes its problem's hidden tests (benchmarks/efficacy.py's oracle and pair
precision, benchmarks/trust_gate.py's sweeps), the pairs the hidden tests or chance would make of them (the
benchmarks' oracle and random controls), how right the round's sampled tests are, and how right its step
pairs are by the hidden tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

from codepref.evaluate.verdicts import hidden_verdicts
from codepref.generate import read_generations
from codepref.loop.code_loop import Loop
from codepref.loop.stage_outputs import Generated, Pairs
from codepref.matrix import load_matrices
from codepref.matrix.accuracy import TestAccuracy, generated_test_accuracy
from codepref.pairs import training_rows
from codepref.pairs.baselines import oracle_pairs, random_pairs
from codepref.records import write_jsonl
from codepref.steps.source import judge_pairs_file
from codepref.steps.values import RolloutEngine
from codepref.tasks import Task, program, solution_parts


def round_verdicts(loop: Loop, r: int, tasks: list[Task]) -> dict[str, bool]:
    """Solution id (`TASK_KEY#i`, as the matrix names it) -> whether round `r`'s i-th sample of the task
    passes the hidden tests, judged in the loop's sandbox (inside `loop.session()`), kept in the round's
    generate folder so it is judged once."""
    generated = loop.runner.stage_dir(r, "generate")
    cache = generated / "hidden_verdicts.json"
    if cache.exists():
        return json.loads(cache.read_text())
    records = read_generations(generated / "solutions.jsonl")
    programs = [[program(t, loop.style, c["text"]) for c in records[t.key]["completions"]] for t in tasks]
    passed = hidden_verdicts([t.problem for t in tasks], programs, loop.sandbox())
    verdicts = {
        f"{task.key}#{i}": ok for task, per in zip(tasks, passed, strict=True) for i, ok in enumerate(per)
    }
    cache.write_text(json.dumps(verdicts))
    return verdicts


def round_test_accuracy(loop: Loop, r: int, tasks: list[Task]) -> TestAccuracy:
    """How right round `r`'s distinct sampled asserts are (codepref.matrix.accuracy). The prompt's examples
    in the matrix (`matrix.prompt_examples`) are not sampled: a column counts only for the times the model
    sampled it."""
    by_key = {t.key: t for t in tasks}
    matrices = list(load_matrices(loop.runner.stage_dir(r, "matrix") / "matrix.jsonl"))
    sampled = [[t for t, n in zip(m.tests, m.sampled_counts, strict=True) if n > 0] for m in matrices]
    problems = [by_key[m.task_id].problem for m in matrices]
    return generated_test_accuracy(problems, sampled, loop.sandbox())


def round_step_precision(loop: Loop, r: int, model: str, rollouts: int, limit: int, out: Path) -> dict:
    """Round `r`'s step pairs (its `steps` stage, made from `model`) judged by the hidden tests on `limit`
    of them drawn at random (`codepref.steps.source.judge_pairs_file`); the oracle's rollouts are cached in
    `out` and seeded apart from the search's, so a pair is not judged by the continuations that made it."""
    sampling = loop.cfg.steps.sampling(loop.cfg.generation.seed + 1)
    engine = RolloutEngine(
        loop.models.generator_for(model), loop.sandbox(), out / "oracle-rollouts.jsonl", sampling
    )
    pairs_file = loop.runner.stage_dir(r, "steps") / "train_pairs.jsonl"
    return judge_pairs_file(pairs_file, loop.training_tasks(), engine, rollouts, limit, seed=r)


def baseline_pairs(loop: Loop, r: int, generated: Generated, source: str, out: Path) -> Pairs:
    """Round `r`'s pairs as a control makes them from the round's samples (`generated`), up to `pairs.pairs_per_problem`
    per problem, written to `out/train_pairs.jsonl`: `oracle`, a sample passing the hidden tests over one
    failing them; `random`, two distinct samples in random order."""
    if source not in ("oracle", "random"):
        raise ValueError(f"baseline pairs: {source!r} is neither oracle nor random")
    tasks = loop.training_tasks()
    verdicts = round_verdicts(loop, r, tasks) if source == "oracle" else {}
    records = read_generations(Path(generated.solutions_file))
    rng = random.Random(loop.cfg.pairs.seed + r)
    limit = loop.cfg.pairs.pairs_per_problem
    pairs = []
    for task in tasks:
        texts = [
            solution_parts(task, generated.style, c["text"])[1] for c in records[task.key]["completions"]
        ]
        if source == "oracle":
            passed = [verdicts[f"{task.key}#{i}"] for i in range(len(texts))]
            pairs += oracle_pairs(task.key, task.prompt, texts, passed, rng, limit)
        else:
            pairs += random_pairs(task.key, task.prompt, texts, rng, limit)
    rows = training_rows(pairs)
    write_jsonl(out / "train_pairs.jsonl", rows)
    return Pairs(
        pairs_file=str(out / "train_pairs.jsonl"),
        pairs=len(rows),
        ranked_pairs=len(rows),
        fallback_pairs=0,
        problems_with_pairs=len({p.task_id for p in pairs}),
    )
