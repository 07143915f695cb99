"""The pairing settings: one declaration, shared by `codepref pairs` and the loop config's `pairs:` section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codepref.rank import RANKERS

METHODS = tuple(RANKERS)  # a pair method is a ranker's name
FALLBACKS = ("none", "executability")
# Trust gate: a problem whose top solution's confidence is not above this yields no correctness pair.
# Confidence scales differ by ranker: codet's is the consensus score over its maximum, codedpo's the share
# of all solution score held by the top group. dstc's pairs carry their own tests, so no threshold applies.
# Tuned on the even-position half of HumanEval with CodeT's released CodeGen-16B samples: the smallest
# threshold whose pair precision there reaches 60% (codet 0.1: 66.7% at 32.9% coverage; codedpo 0.3: 60.0% at
# 36.6%). On the other half, never used for tuning: codet 60.9% precision at 28.0% coverage, codedpo 42.6% at
# 41.5% (`python benchmarks/rerank_codet.py` prints the whole sweep).
DEFAULT_MIN_TOP_CONFIDENCE = {"codet": 0.1, "codedpo": 0.3, "dstc": 0.0}


@dataclass(frozen=True)
class PairConfig:
    method: str = "codedpo"  # the execution ranker: codedpo, codet or dstc
    pairs_per_problem: int = 2  # at most this many pairs per problem and kind
    min_margin: float = 0.0  # a correctness pair needs chosen - rejected confidence > min_margin
    # Skip unless the best confidence exceeds this; None: the method's default, resolved at construction, so
    # `replace(config, method=...)` keeps the old method's gate unless it is passed again.
    min_top_confidence: float | None = None
    efficiency: bool = False  # also time the top group (CodeDPO's fast-over-slow pairs; codedpo only)
    speedup: float = 1.2  # efficiency pair needs slow / fast >= speedup
    min_time_diff_s: float = 1e-3  # ... and slow - fast >= this (medians): timer jitter is no pair
    timing_repeats: int = 5
    max_timed: int = 8  # at most this many top solutions are timed per problem
    seed: int = 0  # tie-breaking seed of the ranker
    rank_options: dict[str, Any] = field(
        default_factory=dict
    )  # extra ranker options (codet: solution_weight)
    # "executability": where the sampled tests give no signal at all (no solution passes any, or none was
    # sampled), prefer a solution that loads and defines the entry point over one that raises, over one that
    # does not parse. Never used for problems the trust gate rejected. Off unless asked for: "it parses" is
    # preference data only for a model that cannot yet write code (the tiny test model).
    fallback: str = "none"

    def __post_init__(self) -> None:
        bad = self.problems()
        if bad:
            raise ValueError("; ".join(f"{key}: {message}" for key, message in bad))
        if self.min_top_confidence is None:
            object.__setattr__(self, "min_top_confidence", DEFAULT_MIN_TOP_CONFIDENCE[self.method])

    def problems(self) -> list[tuple[str, str]]:
        """(setting, what is wrong) for every bad value."""
        bad = []
        if self.method not in METHODS:
            bad.append(("method", f"must be one of {', '.join(METHODS)}, got {self.method!r}"))
        if self.fallback not in FALLBACKS:
            bad.append(("fallback", f"must be one of {', '.join(FALLBACKS)}, got {self.fallback!r}"))
        if self.efficiency and self.method != "codedpo":
            bad.append(("efficiency", "efficiency pairs are CodeDPO's: use them with method codedpo"))
        for key, minimum in (("pairs_per_problem", 1), ("timing_repeats", 1), ("max_timed", 2)):
            if getattr(self, key) < minimum:
                bad.append((key, f"must be >= {minimum}, got {getattr(self, key)}"))
        if self.speedup < 1.0:
            bad.append(("speedup", f"must be >= 1, got {self.speedup}"))
        if self.min_top_confidence is not None and not 0.0 <= self.min_top_confidence <= 1.0:
            bad.append(("min_top_confidence", f"must lie in [0, 1], got {self.min_top_confidence}"))
        return bad
