"""The rank stage: one ranking per problem through the Judge interface, stored as typed records."""

import numpy as np
from matrices import CODET, make_matrix

from codepref.rank import rank
from codepref.rank.judge import Judge, JudgedScore
from codepref.rank.ranked import (
    execution_judges,
    rank_matrices,
    rank_problem,
    read_rankings,
    write_rankings,
)


def test_the_execution_judge_ranks_a_built_matrix_as_the_ranker_does():
    matrix = make_matrix("p", CODET, counts=[2, 1, 1, 3])
    record = rank_problem(matrix, execution_judges("codet", seed=3)(matrix))
    direct = rank("codet", matrix.passed, test_counts=np.array([2, 1, 1, 3]), seed=3)
    assert record.order == [int(i) for i in direct.order]
    assert record.top == [int(i) for i in direct.top_candidates()]
    assert record.confidence == [float(c) for c in direct.confidence]
    assert record.judge == "execution:codet" and record.has_signal


class ShortestFirst(Judge):
    """A judge that never runs code: shorter answers score higher (any text judge plugs in the same way)."""

    name = "shortest"

    def score(self, prompt, candidates):
        return [JudgedScore(score=-len(c), confidence=0.5) for c in candidates]


def test_any_judge_plugs_into_the_rank_stage_and_records_round_trip(tmp_path):
    matrices = [
        make_matrix("a", CODET, solutions=["    return 1", "    return 22", "    return 0"] + ["x"] * 2)
    ]
    (record,) = rank_matrices(matrices, lambda matrix: ShortestFirst())
    assert record.order[:2] == [3, 4] and record.top == [3, 4] and record.judge == "shortest"
    write_rankings(tmp_path / "r.jsonl", [record])
    assert read_rankings(tmp_path / "r.jsonl") == {"a": record}


def test_a_matrix_where_nothing_passes_has_no_signal():
    matrix = make_matrix("p", np.zeros((3, 2)))
    record = rank_problem(matrix, execution_judges("codedpo")(matrix))
    assert not record.has_signal and not record.trusted(0.0)
