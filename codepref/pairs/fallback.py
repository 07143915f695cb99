"""The executability fallback: pairs from running each distinct solution as a plain program.

Levels: 2 loads and defines the entry point, 1 parses but raises (or lacks the function), 0 does not parse.
Each pair prefers a higher level. Used only for problems whose sampled tests gave no signal at all, and
only when a config asks for it (`PairConfig.fallback`).
"""

from __future__ import annotations

import logging
from typing import Any

from codepref.matrix.build import tests_job
from codepref.matrix.format import ExecutionMatrix
from codepref.pairs.selection import PreferencePair, distinct_texts, make_pair
from codepref.sandbox.types import Status

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")


def executability_levels(matrix: ExecutionMatrix, sandbox: Any) -> dict[int, int]:
    """Level per distinct solution index."""
    if not matrix.entry_point:
        raise ValueError(f"{matrix.task_id}: the matrix records no entry point to check")
    check = (f"assert callable({matrix.entry_point})",)
    jobs = {
        str(i): tests_job(matrix.prompt + matrix.solutions[i], check, CHECK_TIMEOUT_S, job_id=str(i))
        for i in distinct_texts(range(len(matrix.solutions)), matrix.solutions)
    }
    levels = {}
    for verdict in sandbox.run_many(list(jobs.values())) if jobs else ():
        if verdict.status == Status.SANDBOX_ERROR:  # a failure like any other: level 1
            log.warning(
                "sandbox error in executability check %s (counted as failing): %s",
                verdict.job_id,
                verdict.error,
            )
        syntax = verdict.error.startswith(SYNTAX_ERRORS)
        levels[int(verdict.job_id)] = 2 if verdict.passed else 0 if syntax else 1
    return levels


def executability_pairs(matrix: ExecutionMatrix, sandbox: Any, per_problem: int) -> list[PreferencePair]:
    levels = executability_levels(matrix, sandbox)
    ranked = sorted(levels.items(), key=lambda item: (-item[1], item[0]))
    if not ranked:
        return []
    best = ranked[0][1]
    better = [i for i, level in ranked if level == best]
    worse = [i for i, level in ranked if level < best][::-1]  # the worst first
    scores = [float(levels.get(i, 0)) for i in range(len(matrix.solutions))]
    return [
        make_pair(matrix, "executability", chosen, rejected, scores, "executability")
        for chosen, rejected in list(zip(better, worse, strict=False))[:per_problem]
    ]
