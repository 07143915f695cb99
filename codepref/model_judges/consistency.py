"""Consistency filter (SCIR, "Self-Consistency of the Internal Reward Models Improves Self-Rewarding LMs"):
several internal judges vote on every pair and a pair is kept only when they agree.

Each judge gives P(i beats j) for every pair of distinct candidates (`pair_probabilities`: a probability from
a preference judge, a hard 1 / 0.5 / 0 vote from a score-based one such as execution). A judge *alone would
keep* a pair when its verdict is decisive, |2P - 1| >= `min_decisiveness`. A pair survives when at least
`min_agreement` of the judges that apply to the prompt are decisive in the same direction (1.0: unanimous).
Its confidence is the judges' agreement: the mean over judges of 2 P(chosen beats rejected) - 1, floored at
0, so a pair a judge leans against or shrugs at counts for less. An execution judge applies only to prompts
that have tests; a prompt no judge applies to yields nothing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from codepref.model_judges.pairwise import pair_probabilities
from codepref.rank.judge import POLICY_SOURCE, ExecutionJudge, Judge, JudgedPair


@dataclass
class ConsistencyReport:
    candidate_pairs: int = 0
    kept_by_judge: dict[str, int] = field(default_factory=dict)  # pairs each judge alone would keep
    survivors: int = 0

    def as_line(self) -> str:
        alone = ", ".join(f"{name} {count}" for name, count in self.kept_by_judge.items())
        return f"{self.candidate_pairs} candidate pairs; kept alone: {alone}; kept by agreement: {self.survivors}"


class ConsistencyFilter:
    name = "consistency"

    def __init__(
        self, judges: Sequence[Judge], *, min_agreement: float = 1.0, min_decisiveness: float = 1e-6
    ) -> None:
        if len(judges) < 2:
            raise ValueError("a consistency filter needs at least two judges")
        if not 0.5 < min_agreement <= 1.0:
            raise ValueError(f"min_agreement must lie in (0.5, 1], got {min_agreement}")
        self.judges = list(judges)
        self.min_agreement = min_agreement
        self.min_decisiveness = min_decisiveness
        self.report = ConsistencyReport(kept_by_judge={judge.name: 0 for judge in self.judges})

    def filter(
        self, prompt: str, candidates: Sequence[str], *, source: str = POLICY_SOURCE, task_id: str = ""
    ) -> list[JudgedPair]:
        """The agreed pairs among `candidates` (distinct texts), each oriented by the judges' shared verdict."""
        distinct = list(dict.fromkeys(candidates))
        judges = [judge for judge in self.judges if _applies(judge, prompt)]
        index_pairs = list(itertools.combinations(range(len(distinct)), 2))
        self.report.candidate_pairs += len(index_pairs)
        if not judges or not index_pairs:
            return []
        votes = np.stack([pair_probabilities(judge, prompt, distinct) for judge in judges])  # (J, N, N)
        decisive = np.abs(2.0 * votes - 1.0) >= self.min_decisiveness
        kept = []
        for i, j in index_pairs:
            for k, judge in enumerate(judges):
                self.report.kept_by_judge[judge.name] += int(decisive[k, i, j])
            for_i = int(np.sum(decisive[:, i, j] & (votes[:, i, j] > 0.5)))
            for_j = int(np.sum(decisive[:, i, j] & (votes[:, i, j] < 0.5)))
            if max(for_i, for_j) < math.ceil(self.min_agreement * len(judges) - 1e-9):
                continue
            chosen, rejected = (i, j) if for_i >= for_j else (j, i)
            probabilities = votes[:, chosen, rejected]
            preference = float(probabilities.mean())
            kept.append(
                JudgedPair(
                    prompt=prompt,
                    chosen=distinct[chosen],
                    rejected=distinct[rejected],
                    judge=f"{self.name}({','.join(judge.name for judge in judges)})",
                    preference=preference,
                    confidence=max(0.0, float(np.mean(2.0 * probabilities - 1.0))),
                    margin=_log_odds(preference),
                    source=source,
                    kind="consistency",
                    task_id=task_id,
                )
            )
        self.report.survivors += len(kept)
        return kept


def _applies(judge: Judge, prompt: str) -> bool:
    """Execution votes only where the prompt has sampled tests; every other judge always applies."""
    if not isinstance(judge, ExecutionJudge):
        return True
    try:
        return bool(judge.tests_for(prompt))
    except KeyError:
        return False


def _log_odds(probability: float, floor: float = 1e-6) -> float:
    p = min(max(probability, floor), 1.0 - floor)
    return math.log(p / (1.0 - p))
