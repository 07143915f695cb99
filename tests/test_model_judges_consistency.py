"""The consistency filter: pairs kept only where the internal judges agree, with per-judge keep counts."""

from collections.abc import Sequence

import numpy as np
import pytest

from codepref.model_judges.consistency import ConsistencyFilter
from codepref.model_judges.logit import LogitSelfJudge
from codepref.rank.judge import ExecutionJudge, Judge, JudgedScore

PROMPT = "def add(a, b):\n"
CANDIDATES = ["    return a + b", "    return a - b", "    return 0"]
TESTS = {PROMPT: ["assert add(1, 2) == 3", "assert add(0, 0) == 0", "assert add(2, 2) == 4"]}


def run_in_process(prompt: str, candidates: Sequence[str], tests: Sequence[str]) -> np.ndarray:
    """A matrix builder for these trusted snippets only: each candidate and test in a fresh namespace."""
    passed = np.zeros((len(candidates), len(tests)), dtype=bool)
    for i, candidate in enumerate(candidates):
        for j, test in enumerate(tests):
            namespace: dict = {}
            exec(prompt + candidate + "\n", namespace)
            try:
                exec(test, namespace)
            except AssertionError:
                continue
            passed[i, j] = True
    return passed


class Ranked(Judge):
    """Scores the candidates by a fixed order of preference (its name says which)."""

    def __init__(self, name: str, preferred: list[str]) -> None:
        self.name = name
        self.preferred = preferred

    def score(self, prompt: str, candidates: Sequence[str]) -> list[JudgedScore]:
        return [JudgedScore(-float(self.preferred.index(c)), 1.0) for c in candidates]


def execution() -> ExecutionJudge:
    return ExecutionJudge("codet", run_in_process, TESTS)


def test_only_pairs_every_judge_orders_alike_survive():
    # Execution: a + b (3 tests) > a - b (1 test) and 0 (1 test, tied). The other judge flips the last two.
    other = Ranked("other", [CANDIDATES[0], CANDIDATES[2], CANDIDATES[1]])
    consistency = ConsistencyFilter([execution(), other])
    pairs = consistency.filter(PROMPT, CANDIDATES)
    assert {(p.chosen, p.rejected) for p in pairs} == {
        (CANDIDATES[0], CANDIDATES[1]),
        (CANDIDATES[0], CANDIDATES[2]),
    }
    assert all(p.confidence == 1.0 and p.kind == "consistency" for p in pairs)
    report = consistency.report
    assert report.candidate_pairs == 3 and report.survivors == 2
    assert report.kept_by_judge == {"execution:codet": 2, "other": 3}  # execution ties the two wrong ones
    assert "kept by agreement: 2" in report.as_line()


def test_a_majority_is_enough_when_min_agreement_allows_it():
    judges = [
        Ranked("one", CANDIDATES),
        Ranked("two", CANDIDATES),
        Ranked("three", list(reversed(CANDIDATES))),
    ]
    assert ConsistencyFilter(judges).filter(PROMPT, CANDIDATES) == []
    pairs = ConsistencyFilter(judges, min_agreement=0.6).filter(PROMPT, CANDIDATES)
    assert len(pairs) == 3
    assert all(p.confidence == pytest.approx(1 / 3) for p in pairs)  # (1 + 1 - 1) / 3


def test_execution_votes_only_where_the_prompt_has_tests():
    consistency = ConsistencyFilter([execution(), Ranked("a", CANDIDATES), Ranked("b", CANDIDATES)])
    pairs = consistency.filter("def other():\n", CANDIDATES)
    assert len(pairs) == 3 and all("execution" not in p.judge for p in pairs)


def test_with_the_logit_self_judge_confidences_stay_in_the_unit_interval(tiny_judge_model):
    consistency = ConsistencyFilter([LogitSelfJudge(tiny_judge_model), execution()])
    pairs = consistency.filter(PROMPT, CANDIDATES)
    assert all(0.0 <= p.confidence <= 1.0 and 0.5 <= p.preference <= 1.0 for p in pairs)
    assert consistency.report.survivors == len(pairs) <= consistency.report.kept_by_judge["execution:codet"]


def test_fewer_than_two_judges_or_a_minority_threshold_are_refused():
    with pytest.raises(ValueError, match="at least two judges"):
        ConsistencyFilter([execution()])
    with pytest.raises(ValueError, match="min_agreement"):
        ConsistencyFilter([execution(), execution()], min_agreement=0.5)
