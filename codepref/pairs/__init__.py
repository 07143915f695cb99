"""Preference pairs from ranked execution matrices.

`config` holds the one declaration of every pairing setting (`PairConfig`), `selection` picks pairs from
the rank stage's ranking, `timing` times solutions for efficiency pairs, `fallback` is the executability
fallback, `storage` writes the TRL files and training rows, `cli` is `codepref pairs`. `baselines` holds
the sources the rankers are measured against where the hidden tests are known (oracle, random).
"""

from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE, FALLBACKS, METHODS, PairConfig
from codepref.pairs.fallback import executability_pairs
from codepref.pairs.selection import (
    PreferencePair,
    correctness_pairs,
    distinct_texts,
    dstc_pairs,
    efficiency_candidates,
    efficiency_pairs,
    pairs_for_problem,
)
from codepref.pairs.storage import (
    PAIR_COLUMNS,
    ChatSamples,
    PairStore,
    chat_samples,
    kto_rows,
    read_pairs,
    training_rows,
    write_pairs,
)
from codepref.pairs.timing import SandboxTimer, Timer, fast_slow_pairs, median_times

__all__ = [
    "DEFAULT_MIN_TOP_CONFIDENCE",
    "FALLBACKS",
    "METHODS",
    "PAIR_COLUMNS",
    "ChatSamples",
    "PairConfig",
    "PairStore",
    "PreferencePair",
    "SandboxTimer",
    "Timer",
    "chat_samples",
    "correctness_pairs",
    "distinct_texts",
    "dstc_pairs",
    "efficiency_candidates",
    "efficiency_pairs",
    "executability_pairs",
    "fast_slow_pairs",
    "kto_rows",
    "median_times",
    "pairs_for_problem",
    "read_pairs",
    "training_rows",
    "write_pairs",
]
