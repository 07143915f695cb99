"""The Judge interface: execution judging, pairwise judging with order swap, ensembles."""

from collections.abc import Sequence

import numpy as np
import pytest

from codepref.rank import rank
from codepref.rank.judge import (
    EnsembleJudge,
    ExecutionJudge,
    Judge,
    JudgedScore,
    PairwiseJudge,
    SandboxMatrixBuilder,
)

PROMPT = "def add_one(x):\n"
CANDIDATES = ["    return x + 1", "    return x + 1", "    return x - 1", "    return 2 * x"]
TESTS = [
    "assert add_one(1) == 2",
    "assert add_one(1) == 2",
    "assert add_one(3) == 4",
    "assert add_one(0) == 0",
]


def run_in_process(prompt: str, candidates: Sequence[str], tests: Sequence[str]) -> np.ndarray:
    """A matrix builder for trusted test code only: runs each candidate and test in a fresh namespace."""
    passed = np.zeros((len(candidates), len(tests)), dtype=bool)
    for i, candidate in enumerate(candidates):
        for j, test in enumerate(tests):
            namespace: dict = {}
            try:
                exec(prompt + candidate + "\n", namespace)
                exec(test, namespace)
            except AssertionError:
                continue
            passed[i, j] = True
    return passed


def test_execution_judge_scores_with_the_ranker_on_deduplicated_tests():
    seen = {}

    def builder(prompt, candidates, tests):
        seen["tests"] = list(tests)
        return run_in_process(prompt, candidates, tests)

    judge = ExecutionJudge("codet", builder, {PROMPT: TESTS})
    scores = judge.score(PROMPT, CANDIDATES)
    assert seen["tests"] == ["assert add_one(1) == 2", "assert add_one(3) == 4", "assert add_one(0) == 0"]
    expected = rank(
        "codet", run_in_process(PROMPT, CANDIDATES, seen["tests"]), test_counts=np.array([2, 1, 1])
    )
    assert [s.score for s in scores] == list(expected.solution_scores)
    assert [s.confidence for s in scores] == list(expected.confidence)
    # The two correct copies agree on 2 + 1 = 3 sampled lines: 2 * 3 = 6. `2 * x` passes add_one(1) (twice) and add_one(0): 1 * 3.
    assert scores[0].score == 6 and scores[3].score == 3 and scores[2].score == 0
    best = judge.best(PROMPT, CANDIDATES)
    assert best in (0, 1) and scores[best].details["rank"] == 0  # the seeded tie-break, not the position
    seeded = [ExecutionJudge("codet", run_in_process, {PROMPT: TESTS}, seed=seed) for seed in range(20)]
    assert {other.best(PROMPT, CANDIDATES) for other in seeded} == {0, 1}


def test_execution_judge_accepts_tests_per_call_and_a_test_function():
    judge = ExecutionJudge("dstc", run_in_process, lambda prompt: TESTS[:1])
    assert [s.score for s in judge.score(PROMPT, CANDIDATES)] == [1, 1, 0, 1]
    override = judge.score(PROMPT, CANDIDATES, tests=["assert add_one(0) == 0"])
    assert [s.score for s in override] == [0, 0, 0, 1]
    assert judge.score(PROMPT, []) == []


def test_execution_judge_errors():
    with pytest.raises(ValueError, match="unknown ranking method"):
        ExecutionJudge("vote", run_in_process, {})
    with pytest.raises(KeyError, match="no sampled tests"):
        ExecutionJudge("codet", run_in_process, {}).score(PROMPT, CANDIDATES)
    wrong_shape = ExecutionJudge("codet", lambda p, c, t: np.zeros((1, 1), dtype=bool), {PROMPT: TESTS})
    with pytest.raises(ValueError, match="shape"):
        wrong_shape.score(PROMPT, CANDIDATES)


class ShorterIsBetter(PairwiseJudge):
    """Prefers the shorter response; `bias` is extra preference for whichever is shown first."""

    name = "shorter"

    def __init__(self, bias: float = 0.0) -> None:
        self.bias = bias
        self.calls = 0

    def compare(self, prompt, first, second):
        self.calls += 1
        base = 0.5 if len(first) == len(second) else (0.8 if len(first) < len(second) else 0.2)
        return min(1.0, base + self.bias)


def test_pairwise_judge_asks_both_orders_and_averages():
    judge = ShorterIsBetter()
    scores = judge.score("q", ["aaa", "a", "aa"])
    assert judge.calls == 6  # 3 pairs, each in both orders
    # "a" beats both at 0.8, "aa" beats "aaa" at 0.8 and loses to "a", "aaa" loses both.
    assert [s.score for s in scores] == pytest.approx([0.2, 0.8, 0.5])
    assert [s.confidence for s in scores] == pytest.approx([1.0, 1.0, 1.0])
    assert judge.best("q", ["aaa", "a", "aa"]) == 1


def test_position_bias_cancels_in_score_and_lowers_confidence():
    biased = ShorterIsBetter(bias=0.15).score("q", ["aaa", "a", "aa"])
    assert [s.score for s in biased] == pytest.approx([0.2, 0.8, 0.5])
    # forward 0.95, swapped 1 - 0.35 = 0.65 for every pair: agreement 1 - 0.3
    assert [s.confidence for s in biased] == pytest.approx([0.7, 0.7, 0.7])
    assert ShorterIsBetter().score("q", ["only"])[0].confidence == 0.0


def test_pairwise_judge_rejects_non_probabilities():
    class OutOfRange(PairwiseJudge):
        def compare(self, prompt, first, second):
            return 1.5

    with pytest.raises(ValueError, match="probability"):
        OutOfRange().score("q", ["a", "b"])


class FixedJudge(Judge):
    def __init__(self, name, scores, confidence=1.0):
        self.name, self.scores, self.confidence = name, scores, confidence

    def score(self, prompt, candidates):
        return [JudgedScore(s, self.confidence) for s in self.scores]


def test_ensemble_trusts_agreement():
    agree = EnsembleJudge([FixedJudge("a", [0, 5, 10]), FixedJudge("b", [1, 2, 3], 0.5)])
    scores = agree.score("q", ["x", "y", "z"])
    assert [s.score for s in scores] == pytest.approx([0.0, 0.5 * (0.5 + 0.5), 1.0])
    assert [s.confidence for s in scores] == pytest.approx([0.75, 0.75, 0.75])
    disagree = EnsembleJudge([FixedJudge("a", [0, 10]), FixedJudge("b", [10, 0])]).score("q", ["x", "y"])
    assert [s.confidence for s in disagree] == pytest.approx([0.0, 0.0])
    assert disagree[0].details["per_judge"] == {"a": 0, "b": 10}
    with pytest.raises(ValueError):
        EnsembleJudge([])


@pytest.mark.docker
def test_execution_judge_in_the_docker_sandbox():
    from codepref.sandbox import Sandbox

    candidates = CANDIDATES + ["    while True:\n        pass", "    return x +"]
    with Sandbox(backend="docker", workers=2) as sandbox:
        builder = SandboxMatrixBuilder(sandbox, test_timeout_s=0.5)
        passed = builder(PROMPT, candidates, TESTS[1:])
        judge = ExecutionJudge("codet", builder, {PROMPT: TESTS})
        scores = judge.score(PROMPT, candidates)
        best = judge.best(PROMPT, candidates)
    np.testing.assert_array_equal(passed[:4], run_in_process(PROMPT, CANDIDATES, TESTS[1:]))
    assert not passed[4:].any()  # an endless loop times out, a syntax error fails: neither passes
    assert best in (0, 1)
    assert scores[4].confidence == scores[5].confidence == 0.0
