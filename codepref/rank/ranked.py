"""The rank stage: each problem's solutions ranked once, through the `Judge` interface, into a typed record
that the pairs stage consumes (it never ranks again).

The default judge is the execution judge ranking the problem's already-built execution matrix as it is
(CodeDPO, CodeT or DSTC; nothing runs again); any other `Judge` (a general-text judge) plugs into the same
stage through a `JudgeFactory`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codepref.matrix.format import ExecutionMatrix
from codepref.rank.judge import ExecutionJudge, Judge, JudgedScore
from codepref.records import read_jsonl, write_jsonl

JudgeFactory = Callable[[ExecutionMatrix], Judge]
"""The judge for one problem (the same one may serve every problem, as the execution judge does)."""


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


def execution_judges(method: str, seed: int = 0, **rank_options: Any) -> JudgeFactory:
    """The execution judge for every problem: it ranks each built matrix, each test weighted by its count."""
    judge = ExecutionJudge(method, seed=seed, **rank_options)
    return lambda _matrix: judge


def rank_problem(matrix: ExecutionMatrix, judge: Judge) -> RankedProblem:
    return ranked_from_scores(matrix, judge.name, judge.score_matrix(matrix))


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
