"""Which solutions of a problem make preference pairs, given the rank stage's ranking of them.

* correctness (codet, codedpo): a top-ranked solution (one tied with the best score) against a
  bottom-ranked one, up to `pairs_per_problem`, each with a margin in confidence above `min_margin`. A
  problem whose best solution has confidence <= `min_top_confidence` is skipped (the trust gate).
* correctness (dstc): DSTC's minimax selection, one pair per problem; each side is a solution followed by
  the test it is judged against (`codepref.rank.dstc`).
* efficiency (codedpo, CodeDPO's efficiency step): the distinct top-group solutions are timed on the tests
  they all pass (`codepref.pairs.timing`), fastest against slowest while the difference is clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from codepref.matrix.format import ExecutionMatrix
from codepref.pairs.config import PairConfig
from codepref.pairs.timing import Timer, fast_slow_pairs, median_times
from codepref.rank.dstc import concatenate, select_pair
from codepref.rank.ranked import RankedProblem


@dataclass
class PreferencePair:
    """One row of TRL's preference format plus the metadata that says where it came from.

    Not a `codepref.rank.judge.JudgedPair`: an execution pair is identified by its solutions (ids, indices,
    DSTC tests, times; chat-style training rows and KTO rows are rebuilt from them) and weighed by each side's
    ranker score, not by one pair probability, and its field order is the column order of pairs.jsonl,
    pairs.parquet and the loop's train_pairs.jsonl.
    """

    prompt: str
    chosen: str
    rejected: str
    method: str
    task_id: str
    chosen_score: float  # correctness: the ranker's confidence; efficiency: minus the median time
    rejected_score: float
    margin: float  # chosen_score - rejected_score
    kind: str  # "correctness", "efficiency" or "executability"
    chosen_id: str
    rejected_id: str
    chosen_test: str = ""  # dstc: the test concatenated to each side
    rejected_test: str = ""
    chosen_time_s: float | None = None  # efficiency: median seconds on the trusted tests
    rejected_time_s: float | None = None
    chosen_index: int = -1  # position of each side among the problem's sampled solutions
    rejected_index: int = -1


def distinct_texts(indices: Iterable[int], solutions: Sequence[str]) -> list[int]:
    """Keep the first index of each distinct solution text (duplicates would make a pair with itself)."""
    seen: set[str] = set()
    kept = []
    for i in indices:
        text = solutions[int(i)].strip()
        if text not in seen:
            seen.add(text)
            kept.append(int(i))
    return kept


def correctness_pairs(
    matrix: ExecutionMatrix, ranked: RankedProblem, config: PairConfig
) -> list[PreferencePair]:
    """Top-ranked against bottom-ranked solutions (codet, codedpo)."""
    if len(ranked.order) < 2 or not ranked.trusted(config.min_top_confidence):
        return []
    top_set = set(ranked.top)
    top = distinct_texts([i for i in ranked.order if i in top_set], matrix.solutions)
    top_texts = {matrix.solutions[i].strip() for i in top}
    bottom = [
        i
        for i in distinct_texts(ranked.order[::-1], matrix.solutions)
        if matrix.solutions[i].strip() not in top_texts
    ]
    pairs = []
    for chosen, rejected in zip(_cycled(top, len(bottom)), bottom, strict=False):
        if len(pairs) == config.pairs_per_problem:
            break
        margin = ranked.confidence[chosen] - ranked.confidence[rejected]
        if margin <= config.min_margin:
            break  # the bottom list only gets better from here
        pairs.append(make_pair(matrix, config.method, chosen, rejected, ranked.confidence, "correctness"))
    return pairs


def _cycled(items: list[int], length: int) -> list[int]:
    """`items` repeated in order up to `length` entries (several pairs may share a chosen solution)."""
    return [items[k % len(items)] for k in range(length)] if items else []


def dstc_pairs(matrix: ExecutionMatrix, ranked: RankedProblem, config: PairConfig) -> list[PreferencePair]:
    """DSTC's minimax pair, each side the solution concatenated with its test."""
    counts = np.asarray(matrix.test_counts, dtype=np.int64) if len(matrix.test_counts) else None
    selection = select_pair(matrix.passed, test_counts=counts, seed=config.seed)
    if selection is None or ranked.confidence[selection.chosen_solution] <= config.min_top_confidence:
        return []
    chosen_test, rejected_test = matrix.tests[selection.chosen_test], matrix.tests[selection.rejected_test]
    chosen = concatenate(matrix.solutions[selection.chosen_solution], chosen_test)
    rejected = concatenate(matrix.solutions[selection.rejected_solution], rejected_test)
    if chosen.strip() == rejected.strip():
        return []
    pair = make_pair(
        matrix,
        config.method,
        selection.chosen_solution,
        selection.rejected_solution,
        ranked.confidence,
        "correctness",
    )
    pair.chosen, pair.rejected = chosen, rejected
    pair.chosen_test, pair.rejected_test = chosen_test, rejected_test
    return [pair]


def efficiency_candidates(
    matrix: ExecutionMatrix, ranked: RankedProblem, config: PairConfig
) -> tuple[list[int], list[int]]:
    """(solutions to time, trusted tests): distinct top-group solutions and the tests they all pass."""
    if not ranked.order or not ranked.trusted(config.min_top_confidence):
        return [], []
    top_set = set(ranked.top)
    timed = distinct_texts([i for i in ranked.order if i in top_set], matrix.solutions)[: config.max_timed]
    if len(timed) < 2:
        return [], []
    trusted = np.flatnonzero(matrix.passed[timed].all(axis=0))
    return timed, [int(j) for j in trusted]


def efficiency_pairs(
    matrix: ExecutionMatrix, ranked: RankedProblem, config: PairConfig, timer: Timer
) -> list[PreferencePair]:
    timed, trusted = efficiency_candidates(matrix, ranked, config)
    if not trusted:
        return []
    runs = np.asarray(
        timer(
            matrix.prompt,
            [matrix.solutions[i] for i in timed],
            [matrix.tests[j] for j in trusted],
            config.timing_repeats,
        ),
        dtype=np.float64,
    )
    times = median_times(runs)
    pairs = []
    for fast, slow in fast_slow_pairs(runs, config.speedup, config.min_time_diff_s, config.pairs_per_problem):
        pair = make_pair(matrix, config.method, timed[fast], timed[slow], None, "efficiency")
        pair.chosen_time_s, pair.rejected_time_s = float(times[fast]), float(times[slow])
        pair.chosen_score, pair.rejected_score = -pair.chosen_time_s, -pair.rejected_time_s
        pair.margin = pair.rejected_time_s - pair.chosen_time_s
        pairs.append(pair)
    return pairs


def make_pair(
    matrix: ExecutionMatrix,
    method: str,
    chosen: int,
    rejected: int,
    scores: Sequence[float] | None,
    kind: str,
) -> PreferencePair:
    chosen_score = float(scores[chosen]) if scores is not None else 0.0
    rejected_score = float(scores[rejected]) if scores is not None else 0.0
    return PreferencePair(
        prompt=matrix.prompt,
        chosen=matrix.solutions[chosen],
        rejected=matrix.solutions[rejected],
        method=method,
        task_id=matrix.task_id,
        chosen_score=chosen_score,
        rejected_score=rejected_score,
        margin=chosen_score - rejected_score,
        kind=kind,
        chosen_id=matrix.solution_ids[chosen],
        rejected_id=matrix.solution_ids[rejected],
        chosen_index=int(chosen),
        rejected_index=int(rejected),
    )


def pairs_for_problem(
    matrix: ExecutionMatrix, ranked: RankedProblem, config: PairConfig, timer: Timer | None = None
) -> list[PreferencePair]:
    """Every ranked pair one problem yields under `config` (the executability fallback aside)."""
    if config.method == "dstc":
        return dstc_pairs(matrix, ranked, config)
    pairs = correctness_pairs(matrix, ranked, config)
    if config.efficiency:
        if timer is None:
            raise ValueError("efficiency pairs need a timer (SandboxTimer for real runs)")
        pairs += efficiency_pairs(matrix, ranked, config, timer)
    return pairs
