"""The Judge interface: execution judging of new candidates and of built matrices, the judged-pair record."""

import json
from collections.abc import Sequence

import numpy as np
import pytest
from matrices import CODET, make_matrix

from codepref.matrix import SandboxMatrixBuilder
from codepref.rank import rank
from codepref.rank.judge import ExecutionJudge, Judge, JudgedPair, JudgedScore, write_pairs

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


def test_a_built_matrix_is_ranked_without_a_builder_each_test_weighted_by_its_count():
    # The rank stage's case (tests/test_rank_ranked.py); here the weights: test 2 counts 3 times.
    weighted = ExecutionJudge("codet").score_matrix(make_matrix("p", CODET, counts=[1, 1, 3, 1]))
    plain = ExecutionJudge("codet").score_matrix(make_matrix("p", CODET))
    assert weighted[4].score == 3 * plain[4].score  # solution 4 passes test 2 alone
    assert ExecutionJudge("codet").score_matrix(make_matrix("empty", np.zeros((0, 2)))) == []


def test_execution_judge_errors():
    with pytest.raises(ValueError, match="unknown ranking method"):
        ExecutionJudge("vote", run_in_process, {})
    with pytest.raises(KeyError, match="no sampled tests"):
        ExecutionJudge("codet", run_in_process, {}).score(PROMPT, CANDIDATES)
    wrong_shape = ExecutionJudge("codet", lambda p, c, t: np.zeros((1, 1), dtype=bool), {PROMPT: TESTS})
    with pytest.raises(ValueError, match="shape"):
        wrong_shape.score(PROMPT, CANDIDATES)
    with pytest.raises(ValueError, match="ranks built matrices only"):
        ExecutionJudge("codet").score(PROMPT, CANDIDATES)


class Longest(Judge):
    """A judge that never runs code: longer answers score higher."""

    name = "longest"

    def score(self, prompt, candidates):
        return [JudgedScore(float(len(c)), 1.0) for c in candidates]


def test_a_judge_picks_the_first_of_its_best_scored_candidates():
    assert Longest().best("q", ["a", "ccc", "bb", "ccc"]) == 1


def test_judged_pairs_are_written_as_jsonl_rows_in_trl_format(tmp_path):
    pair = JudgedPair("p", "good", "bad", "logit", 0.9, 0.8, 2.2, task_id="t")
    path = tmp_path / "out" / "pairs.jsonl"
    assert write_pairs([pair], path) == 1 and write_pairs([pair], path, append=True) == 1
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0] == rows[1] == {
        "prompt": "p", "chosen": "good", "rejected": "bad", "judge": "logit", "preference": 0.9,
        "confidence": 0.8, "margin": 2.2, "source": "policy", "kind": "judged", "task_id": "t",
    }  # fmt: skip


@pytest.mark.docker
def test_execution_judge_in_the_docker_sandbox():
    from codepref.sandbox import Sandbox

    candidates = CANDIDATES + ["    while True:\n        pass", "    return x +"]
    with Sandbox(backend="docker", workers=2) as sandbox:
        judge = ExecutionJudge("codet", SandboxMatrixBuilder(sandbox, test_timeout_s=0.5), {PROMPT: TESTS})
        scores = judge.score(PROMPT, candidates)
        best = judge.best(PROMPT, candidates)
    assert best in (0, 1)
    assert [s.details["tests_passed"] for s in scores] == [2, 2, 0, 2, 0, 0]
    assert scores[4].confidence == scores[5].confidence == 0.0
