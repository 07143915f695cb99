"""Execution matrices for tests, and the rank stage's ranking of them."""

from __future__ import annotations

import numpy as np

from codepref.matrix.format import ExecutionMatrix
from codepref.pairs.config import PairConfig
from codepref.rank.ranked import RankedProblem, execution_judges, rank_problem


def make_matrix(task_id, passed, counts=None, solutions=None, prompt="def f(x):\n", entry_point="f"):
    passed = np.asarray(passed, dtype=bool)
    n, m = passed.shape
    return ExecutionMatrix(
        task_id=task_id,
        prompt=prompt,
        solution_ids=[f"{task_id}#{i}" for i in range(n)],
        solutions=solutions or [f"    return x + {i}" for i in range(n)],
        test_ids=[f"t{j}" for j in range(m)],
        tests=[f"assert f({j}) == {j}" for j in range(m)],
        test_counts=list(counts) if counts is not None else [1] * m,
        passed=passed,
        times=np.zeros((n, m), dtype=np.float32),
        entry_point=entry_point,
    )


def ranked(matrix: ExecutionMatrix, config: PairConfig) -> RankedProblem:
    """The rank stage's record for `matrix` under the pairing settings' execution judge."""
    return rank_problem(matrix, execution_judges(config.method, config.seed, **config.rank_options)(matrix))


# CodeT: sets {0, 1} (2 x 2), {2} (1 x 4) tie at 4 (confidence 0.2); {4} scores 1 (0.05); 3 passes nothing.
CODET = [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 1, 0]]
# Solutions 0-2 agree on tests 0 and 1 (the trusted tests); 3 passes test 2 alone.
EFFICIENCY = [[1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 0, 1]]
