"""One interface for everything that scores candidate responses to a prompt.

A `Judge` maps (prompt, candidates) to one `JudgedScore(score, confidence)` per candidate. `score` orders
candidates within one call (higher is better; scales differ between judges), `confidence` in [0, 1] says how
far the judge trusts its own verdict on that candidate. Three shapes of judge share it:

  * `ExecutionJudge`: runs the candidates against sampled tests (a pass matrix) and ranks them with one of
    the execution rankers (CodeT, CodeDPO, DSTC).
  * `PairwiseJudge`: subclasses supply `compare(prompt, first, second)`, the probability that `first` is
    the better response (a general-text judge, e.g. an LLM asked "which is better"). Every pair is asked in
    both orders to cancel position bias; a candidate's score is its average win probability, and its
    confidence how consistent the verdicts were when the order was swapped.
  * `EnsembleJudge`: several judges at once; it averages their within-call normalised scores and trusts a
    candidate as far as the judges agree on it.

A judge that reads log-probabilities (self-judging) implements `score` directly.
"""

from __future__ import annotations

import itertools
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codepref.matrix import tests_job
from codepref.rank import RANKERS, rank
from codepref.sandbox import Status

log = logging.getLogger(__name__)

MatrixBuilder = Callable[[str, Sequence[str], Sequence[str]], np.ndarray]
"""(prompt, candidates, tests) -> bool pass matrix of shape (len(candidates), len(tests))."""


@dataclass(frozen=True)
class JudgedScore:
    score: float  # higher is better; comparable only within one `score` call
    confidence: float  # in [0, 1]
    details: Mapping[str, Any] = field(default_factory=dict)


class Judge(ABC):
    """Scores candidate responses to one prompt."""

    name: str = "judge"

    @abstractmethod
    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        """One JudgedScore per candidate, in the candidates' order."""

    def best(self, prompt: str, candidates: Sequence[str]) -> int:
        """Index of the highest-scoring candidate (the first one among equals)."""
        scores = self.score(prompt, candidates)
        return max(range(len(scores)), key=lambda i: (scores[i].score, -i))


class ExecutionJudge(Judge):
    """Scores code candidates by executing them against sampled tests and ranking the pass matrix.

    `tests` gives the sampled test snippets for a prompt (a mapping or a function of the prompt); identical
    snippets are merged and counted, as the rankers expect. `matrix_builder` runs the candidates: use
    `SandboxMatrixBuilder(sandbox)` for real execution.
    """

    def __init__(
        self,
        method: str,
        matrix_builder: MatrixBuilder,
        tests: Mapping[str, Sequence[str]] | Callable[[str], Sequence[str]],
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
            return list(self.tests[prompt])
        except KeyError:
            raise KeyError(f"no sampled tests for prompt starting {prompt[:60]!r}") from None

    def score(
        self, prompt: str, candidates: Sequence[str], *, tests: Sequence[str] | None = None
    ) -> list[JudgedScore]:
        if not candidates:
            return []
        counted = Counter(t for t in (self.tests_for(prompt) if tests is None else tests) if t.strip())
        unique_tests = list(counted)
        passed = np.asarray(self.matrix_builder(prompt, list(candidates), unique_tests), dtype=bool)
        if passed.shape != (len(candidates), len(unique_tests)):
            raise ValueError(
                f"matrix builder returned shape {passed.shape}, expected {(len(candidates), len(unique_tests))}"
            )
        counts = np.array([counted[t] for t in unique_tests], dtype=np.int64)
        ranking = rank(self.method, passed, test_counts=counts, seed=self.seed, **self.rank_options)
        position = np.empty(len(candidates), dtype=np.int64)
        position[ranking.order] = np.arange(len(candidates))
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
            for i in range(len(candidates))
        ]

    def best(self, prompt: str, candidates: Sequence[str]) -> int:
        """The ranker's top choice, ties broken the ranker's way (seeded), not by position."""
        scores = self.score(prompt, candidates)
        return min(range(len(scores)), key=lambda i: scores[i].details["rank"])


class SandboxMatrixBuilder:
    """Builds a pass matrix in the sandbox: one job per candidate running every test, results per test.

    The program is `prompt + candidate + "\\n"` (a completion continuing the prompt, as HumanEval samples are),
    run with `__name__ != "__main__"` unless `as_main`. A sandbox fault raises: it says nothing about the code.
    """

    def __init__(
        self,
        sandbox: Any,
        *,
        test_timeout_s: float = 3.0,
        as_main: bool = False,
        program: Callable[[str, str], str] = lambda prompt, candidate: prompt + candidate + "\n",
    ) -> None:
        self.sandbox = sandbox
        self.test_timeout_s = test_timeout_s
        self.as_main = as_main
        self.program = program

    def __call__(self, prompt: str, candidates: Sequence[str], tests: Sequence[str]) -> np.ndarray:
        passed = np.zeros((len(candidates), len(tests)), dtype=bool)
        if not candidates or not tests:
            return passed
        jobs = [
            tests_job(self.program(prompt, candidate), tests, self.test_timeout_s, str(i), self.as_main)
            for i, candidate in enumerate(candidates)
        ]
        for verdict in self.sandbox.run_many(jobs):
            if verdict.status == Status.SANDBOX_ERROR:  # no test results: its row fails every test
                log.warning(
                    "sandbox error on candidate %s (counted as failing): %s", verdict.job_id, verdict.error
                )
            row = int(verdict.job_id)
            for j, result in enumerate(verdict.tests[: len(tests)]):
                passed[row, j] = result.status == Status.PASSED
        return passed


class PairwiseJudge(Judge):
    """A judge built from pairwise comparisons, each asked in both orders to cancel position bias."""

    name = "pairwise"

    @abstractmethod
    def compare(self, prompt: str, first: str, second: str) -> float:
        """Probability in [0, 1] that `first` is the better response to `prompt`."""

    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        count = len(candidates)
        if count == 1:
            return [JudgedScore(score=0.5, confidence=0.0, details={"comparisons": 0})]
        wins = np.zeros(count)
        consistency = np.zeros(count)
        for i, j in itertools.combinations(range(count), 2):
            forward = _probability(self.compare(prompt, candidates[i], candidates[j]))
            swapped = 1.0 - _probability(self.compare(prompt, candidates[j], candidates[i]))
            i_wins = (forward + swapped) / 2
            wins[i] += i_wins
            wins[j] += 1.0 - i_wins
            # Agreement between the two orders: 1 when swapping the positions changes nothing.
            agreement = 1.0 - abs(forward - swapped)
            consistency[i] += agreement
            consistency[j] += agreement
        opponents = count - 1
        return [
            JudgedScore(
                score=float(wins[i] / opponents),
                confidence=float(consistency[i] / opponents),
                details={"comparisons": 2 * opponents},
            )
            for i in range(count)
        ]


def _probability(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"compare() must return a probability in [0, 1], got {value}")
    return float(value)


class EnsembleJudge(Judge):
    """Several judges as one: mean of their normalised scores, trusted as far as they agree."""

    def __init__(self, judges: Sequence[Judge]) -> None:
        if not judges:
            raise ValueError("EnsembleJudge needs at least one judge")
        self.judges = list(judges)
        self.name = "ensemble(" + ",".join(judge.name for judge in self.judges) + ")"

    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        verdicts = [judge.score(prompt, candidates) for judge in self.judges]
        normalised = np.array([_min_max([v.score for v in verdict]) for verdict in verdicts])  # (judges, N)
        confidences = np.array([[v.confidence for v in verdict] for verdict in verdicts])
        spread = normalised.max(axis=0) - normalised.min(axis=0)  # 0 when every judge places it alike
        return [
            JudgedScore(
                score=float(normalised[:, i].mean()),
                confidence=float(confidences[:, i].mean() * (1.0 - spread[i])),
                details={
                    "per_judge": {
                        judge.name: verdict[i].score
                        for judge, verdict in zip(self.judges, verdicts, strict=True)
                    }
                },
            )
            for i in range(len(candidates))
        ]


def _min_max(values: Sequence[float]) -> np.ndarray:
    """Scores mapped to [0, 1] within one call (all 0.5 when they are all equal)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0 or array.max() == array.min():
        return np.full(array.shape, 0.5)
    return (array - array.min()) / (array.max() - array.min())
