"""The pair sources the rankers are measured against, where the truth is known (hidden tests): the oracle,
an upper bound (a sample that passes the hidden tests over one that fails them), and random, the control
(two distinct samples, which one is chosen left to chance). For fine-tuning on single samples rather than
pairs, the same two as rows: every passing sample, and as many samples drawn whatever their verdict.

Benchmarks only: the loop itself never sees the hidden tests.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from codepref.pairs.selection import PreferencePair, distinct_texts


def oracle_pairs(
    task_id: str,
    prompt: str,
    solutions: Sequence[str],
    passed: Sequence[bool],
    rng: random.Random,
    limit: int,
) -> list[PreferencePair]:
    """Up to `limit` pairs of a distinct solution passing the hidden tests (`passed[i]` for `solutions[i]`)
    over one failing them, each used once, matched at random."""
    distinct = distinct_texts(range(len(solutions)), solutions)
    good = [i for i in distinct if passed[i]]
    bad = [i for i in distinct if not passed[i]]
    sides = zip(rng.sample(good, len(good)), rng.sample(bad, len(bad)), strict=False)
    return [_pair(task_id, prompt, solutions, "oracle", c, r) for c, r in list(sides)[:limit]]


def random_pairs(
    task_id: str, prompt: str, solutions: Sequence[str], rng: random.Random, limit: int
) -> list[PreferencePair]:
    """Up to `limit` pairs of two distinct solutions, each used once, whichever is chosen left to chance."""
    distinct = distinct_texts(range(len(solutions)), solutions)
    shuffled = rng.sample(distinct, len(distinct))
    sides = zip(shuffled[::2], shuffled[1::2], strict=False)
    return [_pair(task_id, prompt, solutions, "random", c, r) for c, r in list(sides)[:limit]]


def _pair(
    task_id: str, prompt: str, solutions: Sequence[str], method: str, chosen: int, rejected: int
) -> PreferencePair:
    return PreferencePair(
        prompt=prompt,
        chosen=solutions[chosen],
        rejected=solutions[rejected],
        method=method,
        task_id=task_id,
        chosen_score=1.0,
        rejected_score=0.0,
        margin=1.0,
        kind="correctness",
        chosen_id=f"{task_id}#{chosen}",
        rejected_id=f"{task_id}#{rejected}",
        chosen_index=chosen,
        rejected_index=rejected,
    )


def oracle_rows(verdicts: Mapping[str, Mapping[str, bool]]) -> list[tuple[str, str]]:
    """(task_id, solution) for every solution that passes: `verdicts` maps each task id to its distinct
    solutions and whether each passes."""
    return [(task_id, s) for task_id, per in verdicts.items() for s, ok in per.items() if ok]


def random_rows(verdicts: Mapping[str, Mapping[str, bool]], rng: random.Random) -> list[tuple[str, str]]:
    """As many (task_id, solution) rows as `oracle_rows` would give, drawn at random whatever they score."""
    every = [(task_id, s) for task_id, per in verdicts.items() for s in per]
    return rng.sample(every, len(oracle_rows(verdicts)))
