"""The rank stage: each problem's solutions ranked once, through the `Judge` interface, into a typed record
that the pairs stage consumes (it never ranks again).

The default judge is the execution judge over the problem's already-built execution matrix (CodeDPO, CodeT
or DSTC ranking the pass matrix); any other `Judge` (a general-text judge, an ensemble) plugs into the same
stage through a `JudgeFactory`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codepref.matrix.format import ExecutionMatrix
from codepref.rank.judge import ExecutionJudge, Judge, JudgedScore
from codepref.records import read_jsonl, write_jsonl

JudgeFactory = Callable[[ExecutionMatrix], Judge]
"""The judge for one problem (an execution judge needs that problem's matrix; other judges ignore it)."""


@dataclass
class RankedProblem:
    """One problem's ranking, in the order of its matrix's solutions."""

    task_id: str
    judge: str  # the judge's name, e.g. "execution:codedpo"
    scores: list[float]  # higher is better; comparable within this problem only
    confidence: list[float]  # in [0, 1]
    order: list[int]  # solution indices, best first (ties broken the judge's way)
    top: list[int]  # every solution tied with the best score
    has_signal: bool  # some solution passed some sampled test: the ranking rests on execution evidence

    @property
    def top_confidence(self) -> float:
        return float(self.confidence[self.order[0]]) if self.order else 0.0

    def trusted(self, min_top_confidence: float) -> bool:
        """Whether the trust gate lets this problem's ranking make correctness pairs."""
        return len(self.order) >= 1 and self.top_confidence > min_top_confidence


class MatrixLookup:
    """A `MatrixBuilder` that answers from an execution matrix built earlier, instead of running again."""

    def __init__(self, matrix: ExecutionMatrix) -> None:
        self.matrix = matrix

    def __call__(self, prompt: str, candidates: Sequence[str], tests: Sequence[str]) -> np.ndarray:
        if list(candidates) != self.matrix.solutions or list(tests) != self.matrix.tests:
            raise ValueError(
                f"{self.matrix.task_id}: asked for other candidates or tests than the matrix holds"
            )
        return self.matrix.passed


def execution_judges(method: str, seed: int = 0, **rank_options: Any) -> JudgeFactory:
    """Execution judges over built matrices; each test counts as often as it was sampled."""

    def judge_for(matrix: ExecutionMatrix) -> Judge:
        sampled = [t for t, count in zip(matrix.tests, matrix.test_counts, strict=True) for _ in range(count)]
        return ExecutionJudge(
            method, MatrixLookup(matrix), lambda _prompt: sampled, seed=seed, **rank_options
        )

    return judge_for


def rank_problem(matrix: ExecutionMatrix, judge: Judge) -> RankedProblem:
    scores = judge.score(matrix.prompt, matrix.solutions)
    return ranked_from_scores(matrix, judge.name, scores)


def ranked_from_scores(matrix: ExecutionMatrix, judge: str, scores: list[JudgedScore]) -> RankedProblem:
    """The ranking the scores say: by the judge's own rank where it reports one, else by score (stable)."""
    values = [s.score for s in scores]
    if scores and all("rank" in s.details for s in scores):
        order = sorted(range(len(scores)), key=lambda i: scores[i].details["rank"])
    else:
        order = sorted(range(len(scores)), key=lambda i: -values[i])
    best = values[order[0]] if order else 0.0
    return RankedProblem(
        task_id=matrix.task_id,
        judge=judge,
        scores=[float(v) for v in values],
        confidence=[float(s.confidence) for s in scores],
        order=order,
        top=[i for i in range(len(values)) if values[i] == best],
        has_signal=bool(matrix.passed.any()),
    )


def rank_matrices(matrices: Iterable[ExecutionMatrix], judges: JudgeFactory) -> Iterator[RankedProblem]:
    for matrix in matrices:
        yield rank_problem(matrix, judges(matrix))


def write_rankings(path: Path, ranked: Iterable[RankedProblem]) -> Path:
    return write_jsonl(path, (asdict(r) for r in ranked))


def read_rankings(path: Path) -> dict[str, RankedProblem]:
    return {row["task_id"]: RankedProblem(**row) for row in read_jsonl(path)}
