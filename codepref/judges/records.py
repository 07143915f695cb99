"""The pair record judges write: TRL's preference format plus what the losses need to weigh each pair.

`confidence` (in [0, 1]) and `preference` (the judge's probability that `chosen` is better) feed the
noise-aware and iREPO losses; `margin` is the judge's own signed strength (log scale); `source` says where the
two responses came from ("policy" for the policy's own samples, "multi:<model>" when another model's response
is in the pair, "refinement" for an initial answer against its self-refined version).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from codepref.judges.pairwise import PairVerdict
from codepref.records import append_record

POLICY_SOURCE = "policy"


@dataclass
class JudgedPair:
    prompt: str  # the context the responses continue (sampled text: the request under the chat template)
    chosen: str
    rejected: str
    judge: str
    preference: float  # P(chosen is better) under the judge, in [0.5, 1]
    confidence: float  # in [0, 1]
    margin: float  # the judge's signed strength for chosen over rejected
    source: str = POLICY_SOURCE
    kind: str = "judged"  # judged | refinement | rationale | consistency
    task_id: str = ""


def oriented_pair(
    prompt: str,
    candidates: list[str],
    verdict: PairVerdict,
    judge: str,
    *,
    source: str = POLICY_SOURCE,
    kind: str = "judged",
    task_id: str = "",
) -> JudgedPair:
    """The verdict's pair with the preferred response as `chosen` (the first one on an exact tie)."""
    first_wins = verdict.probability >= 0.5
    chosen, rejected = (verdict.first, verdict.second) if first_wins else (verdict.second, verdict.first)
    return JudgedPair(
        prompt=prompt,
        chosen=candidates[chosen],
        rejected=candidates[rejected],
        judge=judge,
        preference=verdict.probability if first_wins else 1.0 - verdict.probability,
        confidence=verdict.confidence,
        margin=verdict.margin if first_wins else -verdict.margin,
        source=source,
        kind=kind,
        task_id=task_id,
    )


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
