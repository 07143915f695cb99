"""The pairing settings: one declaration, per-method trust defaults, every bad value named."""

import pytest

from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE, PairConfig


def test_the_trust_threshold_defaults_per_method():
    for method, threshold in DEFAULT_MIN_TOP_CONFIDENCE.items():
        assert PairConfig(method=method).min_top_confidence == threshold
    assert PairConfig(method="codet", min_top_confidence=0.5).min_top_confidence == 0.5


def test_the_fallback_is_off_unless_asked_for():
    assert PairConfig().fallback == "none"


def test_every_bad_value_is_named_at_once():
    with pytest.raises(ValueError) as caught:
        PairConfig(method="bogus", fallback="maybe", pairs_per_problem=0, speedup=0.5)
    message = str(caught.value)
    for key in ("method", "fallback", "pairs_per_problem", "speedup"):
        assert f"{key}:" in message
    with pytest.raises(ValueError, match="efficiency pairs are CodeDPO's"):
        PairConfig(method="dstc", efficiency=True)
