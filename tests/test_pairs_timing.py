"""Timing solutions for efficiency pairs: which runs make a clear fast/slow pair, and real sandbox timing."""

import numpy as np
import pytest
from matrices import make_matrix, ranked

from codepref.pairs.config import PairConfig
from codepref.pairs.selection import pairs_for_problem
from codepref.pairs.timing import SandboxTimer, fast_slow_pairs


def runs_around(medians, spread=0.1):
    """Three runs per solution: the median and +-spread around it."""
    medians = np.asarray(medians, dtype=float)[:, None]
    return medians + np.array([-spread, 0.0, spread])


def test_fast_slow_pairs():
    runs = runs_around([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert fast_slow_pairs(runs, 1.2, 0.0, 3) == [(0, 5), (1, 4), (2, 3)]
    assert fast_slow_pairs(runs, 1.5, 0.0, 3) == [(0, 5), (1, 4)]
    assert fast_slow_pairs(runs, 1.2, 2.5, 3) == [(0, 5), (1, 4)]  # 4 - 3 is under the 2.5 s floor
    assert fast_slow_pairs(runs_around([np.nan, 3.0, 1.0]), 1.2, 0.0, 2) == [(2, 1)]
    one_failed_run = np.array([[1.0, 1.0, np.nan], [3.0, 3.0, 3.0], [1.0, 1.0, 1.0]])
    assert fast_slow_pairs(one_failed_run, 1.2, 0.0, 2) == [(2, 1)]  # solution 0 is not reliably correct


def test_overlapping_runs_are_noise_not_a_pair():
    # Medians 1.0 and 2.0, but the slow one once ran in 0.9 s: jitter, no pair.
    jittery = np.array([[0.8, 1.0, 1.2], [0.9, 2.0, 2.1]])
    assert fast_slow_pairs(jittery, 1.2, 0.0, 1) == []
    assert fast_slow_pairs(np.array([[0.8, 1.0, 1.2], [1.3, 2.0, 2.1]]), 1.2, 0.0, 1) == [(0, 1)]


@pytest.mark.docker
def test_sandbox_timer_finds_the_faster_solution():
    from codepref.sandbox import Sandbox

    fast = "    return sum(range(x))\n"
    slow = "    total = 0\n    for _ in range(30):\n        total = sum(range(x))\n    return total\n"
    matrix = make_matrix("p", [[1, 1], [1, 1], [0, 0]], solutions=[slow, fast, "    return -1\n"])
    matrix.tests = ["assert f(200000) == 19999900000", "assert f(10) == 45"]
    config = PairConfig(method="codedpo", efficiency=True, timing_repeats=3, speedup=2.0)
    with Sandbox(backend="docker", workers=2) as sandbox:
        pairs = pairs_for_problem(
            matrix, ranked(matrix, config), config, SandboxTimer(sandbox, test_timeout_s=5.0)
        )
    efficiency = [p for p in pairs if p.kind == "efficiency"]
    assert len(efficiency) == 1
    assert efficiency[0].chosen == fast and efficiency[0].rejected == slow
    assert efficiency[0].rejected_time_s > 2.0 * efficiency[0].chosen_time_s
