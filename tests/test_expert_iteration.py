"""benchmarks/expert_iteration.py's own parts: which samples each source fine-tunes on, and the paired
bootstrap over problems that every reported change carries."""

import importlib.util
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ei():
    spec = importlib.util.spec_from_file_location(
        "expert_iteration", ROOT / "benchmarks" / "expert_iteration.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


VERDICTS = {
    "t/0": {"a": True, "b": False, "c": True},
    "t/1": {"d": False, "e": False},
    "t/2": {"f": True, "g": False, "h": False, "i": False},
}


def test_the_oracle_fine_tunes_on_every_distinct_passing_sample_and_nothing_else(ei):
    chosen = ei.select(VERDICTS, "oracle", random.Random(0))
    assert sorted(chosen) == [("t/0", "a"), ("t/0", "c"), ("t/2", "f")]


def test_the_random_control_takes_as_many_distinct_samples_whatever_they_score(ei):
    picks = [ei.select(VERDICTS, "random", random.Random(seed)) for seed in range(40)]
    assert all(len(p) == 3 and len(set(p)) == 3 for p in picks)
    assert any(not VERDICTS[k][c] for p in picks for k, c in p)  # failing samples are taken too


def test_the_paired_interval_is_a_point_when_every_problem_changes_alike_and_wide_when_they_disagree(ei):
    before = {f"t/{i}": 2 for i in range(50)}
    alike = ei.paired_bootstrap(before, {k: 4 for k in before})
    assert alike["change"] == pytest.approx(0.2) and alike["low"] == pytest.approx(alike["high"])
    mixed = ei.paired_bootstrap(before, {k: (10 if i % 2 else 0) for i, k in enumerate(before)})
    assert mixed["change"] == pytest.approx(0.3) and mixed["low"] < 0.2 < 0.4 < mixed["high"]


def test_programs_that_differ_only_in_constants_share_a_shape_and_a_changed_step_does_not(ei):
    right = "def f(xs):\n    return [x * 3 for x in xs if x > 2]\n"
    assert ei.constant_shape(right) == ei.constant_shape(right.replace("3", "4").replace("2", "5"))
    assert ei.constant_shape(right) != ei.constant_shape(right.replace("x > 2", "x < 2"))
    assert ei.constant_shape("def f(:\n") is None
