"""One interface for everything that scores candidate responses to a prompt, and the records judges produce.

A `Judge` maps (prompt, candidates) to one `JudgedScore(score, confidence)` per candidate. `score` orders
candidates within one call (higher is better; scales differ between judges). `confidence` in [0, 1] says how
far the judge trusts its own verdict on that candidate; each kind of judge defines it once:

  * `ExecutionJudge`: the ranker's confidence in the candidate (CodeT, CodeDPO, DSTC; see `codepref.rank`).
  * a preference judge (`codepref.model_judges.pairwise.PreferenceJudge`, every pair asked in both orders): how
    decisive the candidate's pair verdicts are, the mean of |2 P(win) - 1| over its opponents.
  * a judge that scores each candidate on its own (self-rationalizing, implicit reward): its docstring says.

A `JudgedPair` is the preference pair a judge's verdict makes (TRL's prompt/chosen/rejected plus what the
noise-aware losses weigh it by). The pairs stage's execution pairs are `codepref.pairs.PreferencePair`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codepref.matrix.format import ExecutionMatrix
from codepref.rank import RANKERS, rank
from codepref.records import append_record

POLICY_SOURCE = "policy"

MatrixBuilder = Callable[[str, Sequence[str], Sequence[str]], np.ndarray]
"""(prompt, candidates, distinct tests) -> bool pass matrix of shape (len(candidates), len(tests)); the
sandbox's is `codepref.matrix.SandboxMatrixBuilder`."""


@dataclass(frozen=True)
class JudgedScore:
    score: float  # higher is better; comparable only within one `score` call
    confidence: float  # in [0, 1]
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class JudgedPair:
    """A judge's preference pair: TRL's preference format plus what the losses need to weigh it.

    `confidence` (in [0, 1]) and `preference` (the judge's probability that `chosen` is better) feed the
    noise-aware and iREPO losses; `margin` is the judge's own signed strength (log scale); `source` says where
    the two responses came from ("policy" for the policy's own samples, "multi:<model>" when another model's
    response is in the pair, "refinement" for an initial answer against its self-refined version).
    """

    prompt: str  # the context the responses continue (sampled text: the request under the chat template)
    chosen: str
    rejected: str
    judge: str
    preference: float  # P(chosen is better) under the judge, in [0.5, 1]
    confidence: float  # in [0, 1]
    margin: float  # the judge's signed strength for chosen over rejected
    source: str = POLICY_SOURCE
    kind: str = "judged"  # judged | refinement | regression | rationale | consistency
    task_id: str = ""


def write_pairs(pairs: Iterable[JudgedPair], path: str | Path, *, append: bool = False) -> int:
    """Write pairs as JSONL (one record a line, flushed as it goes); returns how many were written."""
    count = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as handle:
        for pair in pairs:
            append_record(handle, asdict(pair))
            handle.flush()
            count += 1
    return count


class Judge(ABC):
    """Scores candidate responses to one prompt."""

    name: str = "judge"

    @abstractmethod
    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        """One JudgedScore per candidate, in the candidates' order."""

    def score_matrix(self, matrix: ExecutionMatrix) -> list[JudgedScore]:
        """Scores of a problem whose execution matrix is built (the rank stage): by default the matrix's
        solutions judged as candidates of its prompt; an execution judge ranks the matrix itself."""
        return self.score(matrix.prompt, matrix.solutions)

    def best(self, prompt: str, candidates: Sequence[str]) -> int:
        """Index of the highest-scoring candidate (the first one among equals)."""
        scores = self.score(prompt, candidates)
        return max(range(len(scores)), key=lambda i: (scores[i].score, -i))


class ExecutionJudge(Judge):
    """Scores code candidates by ranking their pass matrix against sampled tests (CodeT, CodeDPO or DSTC).

    A matrix built earlier is ranked as it is (`score_matrix`: the rank stage, which needs no builder). To
    judge new candidates, `score` runs them with `matrix_builder` (`codepref.matrix.SandboxMatrixBuilder` for
    real execution) against `tests`, the sampled test lines of a prompt (a mapping or a function of the
    prompt); identical lines are merged and counted, as the rankers expect.
    """

    def __init__(
        self,
        method: str,
        matrix_builder: MatrixBuilder | None = None,
        tests: Mapping[str, Sequence[str]] | Callable[[str], Sequence[str]] | None = None,
        *,
        seed: int = 0,
        **rank_options: Any,
    ) -> None:
        if method not in RANKERS:
            raise ValueError(f"unknown ranking method {method!r}; choose one of {sorted(RANKERS)}")
        self.name = f"execution:{method}"
        self.method = method
        self.matrix_builder = matrix_builder
        self.tests = tests
        self.seed = seed
        self.rank_options = rank_options

    def tests_for(self, prompt: str) -> list[str]:
        if callable(self.tests):
            return list(self.tests(prompt))
        try:
            return list((self.tests or {})[prompt])
        except KeyError:
            raise KeyError(f"no sampled tests for prompt starting {prompt[:60]!r}") from None

    def score(
        self, prompt: str, candidates: Sequence[str], *, tests: Sequence[str] | None = None
    ) -> list[JudgedScore]:
        if not candidates:
            return []
        if self.matrix_builder is None:
            raise ValueError(
                f"{self.name} has no matrix builder: it ranks built matrices only (score_matrix)"
            )
        counted = Counter(t for t in (self.tests_for(prompt) if tests is None else tests) if t.strip())
        unique_tests = list(counted)
        passed = np.asarray(self.matrix_builder(prompt, list(candidates), unique_tests), dtype=bool)
        if passed.shape != (len(candidates), len(unique_tests)):
            raise ValueError(
                f"matrix builder returned shape {passed.shape}, expected {(len(candidates), len(unique_tests))}"
            )
        return self._ranked(passed, [counted[t] for t in unique_tests])

    def score_matrix(self, matrix: ExecutionMatrix) -> list[JudgedScore]:
        return self._ranked(matrix.passed, matrix.test_counts)

    def _ranked(self, passed: np.ndarray, test_counts: Sequence[int]) -> list[JudgedScore]:
        if not len(passed):
            return []
        counts = np.array(test_counts, dtype=np.int64)
        ranking = rank(self.method, passed, test_counts=counts, seed=self.seed, **self.rank_options)
        position = np.empty(len(passed), dtype=np.int64)
        position[ranking.order] = np.arange(len(passed))
        return [
            JudgedScore(
                score=float(ranking.solution_scores[i]),
                confidence=float(ranking.confidence[i]),
                details={
                    "method": self.method,
                    "rank": int(position[i]),
                    "tests_passed": int(passed[i].sum()),
                    "group": None if ranking.groups is None else int(ranking.groups[i]),
                },
            )
            for i in range(len(passed))
        ]

    def best(self, prompt: str, candidates: Sequence[str]) -> int:
        """The ranker's top choice, ties broken the ranker's way (seeded), not by position."""
        scores = self.score(prompt, candidates)
        return min(range(len(scores)), key=lambda i: scores[i].details["rank"])
