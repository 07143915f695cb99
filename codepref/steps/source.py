"""Step pairs for a list of problems: the verifiers, one method run per problem, and what it cost.

Everything lives in one OUT directory, so a rerun resumes: `tests.jsonl` (the sampled tests, written by
`codepref.generate.generate_jsonl`), `rollouts.jsonl` (the rollout cache), `trees/` (the MCTS trees),
`pairs.jsonl` (TRL preference rows) and `summary.json` (pairs made, rollouts and sandbox executions, in
total and per pair, and the wall time of this run).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from codepref.generate import GenerationRequest, Generator, generate_jsonl, prompt_records, read_generations
from codepref.matrix.examples import DEFAULT_EXAMPLE_WEIGHT
from codepref.records import read_jsonl
from codepref.settings import check_settings, raise_problems, setting
from codepref.steps.mcts import TreeSettings, search, tree_file, tree_pairs
from codepref.steps.pair import StepPair, write_step_pairs
from codepref.steps.step_dpo import StepDPOSettings, step_dpo_pairs
from codepref.steps.values import OracleVerifier, RolloutEngine, StepProblem, Verifier, sampled_verifier
from codepref.tasks.problem import Problem
from codepref.tasks.prompts import solution_stops
from codepref.tasks.task import Task, make_task, test_prompt

VERIFIERS = ("sampled", "oracle")


@dataclass(frozen=True)
class VerifierSettings:
    kind: str = setting(
        "sampled",
        "sampled: the model's tests and the prompt's examples; oracle: hidden tests.",
        choices=VERIFIERS,
    )
    tests_per_problem: int = setting(10, "Test completions sampled per problem.", minimum=1)
    example_weight: int = setting(
        DEFAULT_EXAMPLE_WEIGHT, "The prompt's examples, each counted this many times.", minimum=0
    )
    test_max_tokens: int = setting(128, "Tokens per test completion.", minimum=1)

    def __post_init__(self) -> None:
        raise_problems(check_settings(self))


def step_problems(
    problems: list[Problem], generator: Generator, settings: VerifierSettings, out: Path, seed: int = 0
) -> list[StepProblem]:
    """The problems that have a verifier (a sampled one needs at least one test), in order; the sampled
    tests are written to `out/tests.jsonl` first (a rerun reads them back)."""
    tasks = [make_task(p) for p in problems]
    tests_file = None
    if settings.kind == "sampled":
        rendered = {t.key: test_prompt(t, "completion", None, None) for t in tasks}
        request = GenerationRequest(
            prompts=(), n=settings.tests_per_problem, max_tokens=settings.test_max_tokens, seed=seed
        )
        tests_file = out / "tests.jsonl"
        generate_jsonl(generator, prompt_records(tasks, rendered), tests_file, request)
    return tasks_with_verifiers(tasks, settings.kind, tests_file, settings.example_weight)


def tasks_with_verifiers(
    tasks: list[Task], kind: str, tests_file: Path | None, example_weight: int
) -> list[StepProblem]:
    """Each task with its verifier, in order: the hidden tests (`oracle`), or the raw test completions
    sampled for it (`sampled`: `tests_file`, a generation file keyed by task key) with the prompt's examples
    counted `example_weight` times; a task left with no test to verify with is dropped."""
    tests: dict[str, list[str]] = {}
    if kind == "sampled" and tests_file is not None:
        records = read_generations(tests_file)
        tests = {key: [c["text"] for c in record["completions"]] for key, record in records.items()}
    verifiers: dict[str, Verifier | None] = {}
    for t in tasks:
        if kind == "oracle":
            verifiers[t.key] = OracleVerifier(t.problem)
            continue
        try:
            verifiers[t.key] = sampled_verifier(t.prompt, t.entry_point, tests.get(t.key, []), example_weight)
        except ValueError:  # no test survived extraction and no example counts: nothing to verify with
            verifiers[t.key] = None
    return [
        StepProblem(t.key, t.prompt, solution_stops(t.prompt, t.entry_point), verifier)
        for t in tasks
        if (verifier := verifiers[t.key]) is not None
    ]


def make_step_pairs(
    problems: list[StepProblem],
    engine: RolloutEngine,
    method: StepDPOSettings | TreeSettings,
    out: Path,
) -> tuple[list[StepPair], dict]:
    """Pairs of every problem by the method its settings name, written to `out/pairs.jsonl`, and the
    summary written to `out/summary.json`."""
    started = time.perf_counter()
    pairs: list[StepPair] = []
    for problem in problems:
        if isinstance(method, TreeSettings):
            tree = search(problem, engine, method, tree_file(out / "trees", problem.task_id))
            pairs += tree_pairs(tree, method, engine)
        else:
            pairs += step_dpo_pairs(problem, engine, method)
    write_step_pairs(out / "pairs.jsonl", pairs)
    rollouts = sum(len(engine.usage[p.task_id].rollouts) for p in problems)
    executions = sum(len(engine.usage[p.task_id].programs) for p in problems)
    summary = {
        "method": "mcts" if isinstance(method, TreeSettings) else "step-dpo",
        "settings": asdict(method),
        "problems": len(problems),
        "problems_with_pairs": len({p.task_id for p in pairs}),
        "pairs": len(pairs),
        "rollouts": rollouts,
        "executions": executions,
        "rollouts_per_pair": rollouts / len(pairs) if pairs else None,
        "executions_per_pair": executions / len(pairs) if pairs else None,
        "sampled_this_run": engine.sampled,
        "executed_this_run": engine.executed,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return pairs, summary


def oracle_precision(
    pairs: list[StepPair], oracle_problems: list[StepProblem], engine: RolloutEngine, rollouts: int
) -> dict:
    """Each pair judged by the hidden tests: right when the oracle value (hidden-test pass rate of `rollouts`
    continuations) of its prefix + chosen step exceeds that of its prefix + rejected step, wrong when below,
    tied when equal. `oracle_problems` come from `tasks_with_verifiers(tasks, "oracle", None, 0)`; `engine`
    should have a cache of its own, so the values come from fresh continuations rather than the search's."""
    by_id = {p.task_id: p for p in oracle_problems}
    by_task: dict[str, list[StepPair]] = {}
    for pair in pairs:
        by_task.setdefault(pair.task_id, []).append(pair)
    right = wrong = tied = 0
    for task_id, mine in by_task.items():
        prefixes = [x for pair in mine for x in (pair.prompt + pair.chosen, pair.prompt + pair.rejected)]
        found = engine.rollouts(by_id[task_id], prefixes, rollouts)
        for i in range(len(mine)):
            chosen, rejected = (sum(r.score for r in found[2 * i + side]) for side in (0, 1))
            right += chosen > rejected
            wrong += chosen < rejected
            tied += chosen == rejected
    return {
        "right": right,
        "wrong": wrong,
        "tied": tied,
        "precision": right / len(pairs) if pairs else None,
        "oracle_rollouts": engine.sampled,
        "oracle_executions": engine.executed,
    }


def judge_pairs_file(
    pairs_file: Path, tasks: list[Task], engine: RolloutEngine, rollouts: int, limit: int, seed: int = 0
) -> dict:
    """`oracle_precision` of the step pairs in a training file (instance rows, which have no depth, are
    left out), on `limit` of them drawn at random with `seed`; `step_pairs`: how many the file holds."""
    pairs = [StepPair.from_row(row) for row in read_jsonl(Path(pairs_file)) if "depth" in row]
    judged = random.Random(seed).sample(pairs, min(len(pairs), limit))
    oracle = tasks_with_verifiers(tasks, "oracle", None, 0)
    return oracle_precision(judged, oracle, engine, rollouts) | {"step_pairs": len(pairs)}
