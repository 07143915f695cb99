"""The pairing settings: one declaration, shared by `codepref pairs` and the loop config's `pairs:` section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codepref.rank import RANKERS
from codepref.settings import check_settings, raise_problems, setting

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
    method: str = setting("codedpo", "The execution ranker.", choices=METHODS)
    pairs_per_problem: int = setting(2, "At most this many pairs per problem and kind.", minimum=1)
    min_margin: float = setting(0.0, "A correctness pair needs chosen - rejected confidence > min_margin.")
    # None is resolved to the method's default at construction, so `replace(config, method=...)` keeps the
    # old method's gate unless it is passed again.
    min_top_confidence: float | None = setting(
        None,
        "Trust gate: skip a problem unless its best confidence exceeds this (unset: the method's default).",
        minimum=0,
        maximum=1,
    )
    efficiency: bool = setting(
        False, "Also time the top group (CodeDPO's fast-over-slow pairs; codedpo only)."
    )
    speedup: float = setting(1.2, "An efficiency pair needs slow / fast >= speedup.", minimum=1)
    min_time_diff_s: float = setting(
        1e-3, "An efficiency pair also needs slow - fast >= this many seconds (medians): jitter is no pair."
    )
    timing_repeats: int = setting(5, "Timed runs of each solution.", minimum=1)
    max_timed: int = setting(8, "At most this many top solutions are timed per problem.", minimum=2)
    seed: int = setting(0, "Tie-breaking seed of the ranker.")
    rank_options: dict[str, Any] = setting(
        help="Extra ranker options (codet: solution_weight).", default_factory=dict
    )
    # "executability" is preference data only for a model that cannot yet write code (the tiny test model):
    # "it parses" says nothing about a model that can. Never used for problems the trust gate rejected.
    fallback: str = setting(
        "none",
        "executability: where the sampled tests give no signal at all, prefer a solution that loads and "
        "defines the entry point over one that raises, over one that does not parse.",
        choices=FALLBACKS,
    )

    def __post_init__(self) -> None:
        bad = check_settings(self)
        # Across fields: efficiency pairs come from CodeDPO's timing of its top group.
        if self.efficiency and self.method != "codedpo":
            bad.append(("efficiency", "efficiency pairs are CodeDPO's: use them with method codedpo"))
        raise_problems(bad)
        if self.min_top_confidence is None:
            object.__setattr__(self, "min_top_confidence", DEFAULT_MIN_TOP_CONFIDENCE[self.method])
